import NIOCore
import NIOPosix

/// Idle keep-alive connections to backends, one pool per event loop (its
/// channels are only touched on that loop): a request takes the most
/// recently used idle connection to its backend, or connects a new one; a
/// finished keep-alive response gives it back. An idle connection the
/// backend closes leaves the pool; at most `maxIdlePerBackend` are kept.
final class BackendPool: @unchecked Sendable {  // one per event loop, used on it only
    struct Key: Hashable {
        let host: String
        let port: Int
        let tls: Bool
        let skipVerify: Bool
    }

    static let maxIdlePerBackend = 64
    static let idleTimeout: TimeAmount = .seconds(30)

    private var idle: [Key: [(backend: BackendHandler, since: NIODeadline)]] = [:]

    /// An idle connection to `key`'s backend (its handler), if one is open.
    func take(_ key: Key) -> BackendHandler? {
        let cutoff = NIODeadline.now() - Self.idleTimeout
        // In place (no copy of the list per request).
        while let last = idle[key]?.popLast() {
            guard let channel = last.backend.channel else { continue }
            if channel.isActive, last.since > cutoff { return last.backend }
            channel.close(promise: nil)
        }
        return nil
    }

    /// Keeps the connection for the next request to `key` (or closes it when the pool is full).
    func give(_ backend: BackendHandler, _ key: Key) {
        guard let channel = backend.channel, channel.isActive else { return }
        guard idle[key, default: []].count < Self.maxIdlePerBackend else { channel.close(promise: nil); return }
        // The last client may have paused its reads (backpressure): an idle connection must read, to see the backend close it.
        backend.setReading(true)
        idle[key, default: []].append((backend, .now()))
    }

    /// Forgets a connection that closed while idle.
    func remove(_ backend: BackendHandler) {
        for (key, list) in idle {
            let kept = list.filter { $0.backend !== backend }
            if kept.count != list.count { idle[key] = kept.isEmpty ? nil : kept }
        }
    }

    /// The pool of an event loop.
    static func of(_ loop: any EventLoop) -> BackendPool {
        if let pool = pools.currentValue { return pool }
        let pool = BackendPool()
        pools.currentValue = pool
        return pool
    }

    private static let pools = ThreadSpecificVariable<BackendPool>()
}

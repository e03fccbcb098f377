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

    private var idle: [Key: [(channel: any Channel, since: NIODeadline)]] = [:]

    /// An idle connection to `key`'s backend, if one is open.
    func take(_ key: Key) -> (any Channel)? {
        let cutoff = NIODeadline.now() - Self.idleTimeout
        while var list = idle[key], let last = list.popLast() {
            idle[key] = list.isEmpty ? nil : list
            if last.channel.isActive, last.since > cutoff { return last.channel }
            last.channel.close(promise: nil)
        }
        return nil
    }

    /// Keeps `channel` for the next request to `key` (or closes it when the pool is full).
    func give(_ channel: any Channel, _ key: Key) {
        guard channel.isActive else { return }
        var list = idle[key] ?? []
        guard list.count < Self.maxIdlePerBackend else { channel.close(promise: nil); return }
        // The last client may have paused its reads (backpressure): an idle connection must read, to see the backend close it.
        channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        list.append((channel, .now()))
        idle[key] = list
    }

    /// Forgets a channel that closed while idle.
    func remove(_ channel: any Channel) {
        for (key, list) in idle {
            let kept = list.filter { $0.channel !== channel }
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

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

    /// The idle connections to one backend, most recently used last. A client connection keeps
    /// the list of the backend it last used, so a request hashes no key when the backend is the same.
    final class IdleList: @unchecked Sendable {  // its pool's loop only
        private var entries: [(backend: BackendHandler, since: NIODeadline)] = []

        /// An idle connection to the backend (its handler), if one is open.
        func take(now: NIODeadline) -> BackendHandler? {
            let cutoff = now - BackendPool.idleTimeout
            // In place (no copy of the list per request).
            while let last = entries.popLast() {
                guard let channel = last.backend.channel else { continue }
                if channel.isActive, last.since > cutoff { return last.backend }
                channel.close(promise: nil)
            }
            return nil
        }

        /// Keeps the connection for the next request (or closes it when the list is full).
        func give(_ backend: BackendHandler, now: NIODeadline) {
            guard let channel = backend.channel, channel.isActive else { return }
            guard entries.count < BackendPool.maxIdlePerBackend else { channel.close(promise: nil); return }
            // The last client may have paused its reads (backpressure): an idle connection must read, to see the backend close it.
            backend.setReading(true)
            entries.append((backend, now))
        }

        fileprivate func remove(_ backend: BackendHandler) {
            entries.removeAll { $0.backend === backend }
        }
    }

    /// One list per backend ever used on this loop (as many as the routes' distinct backends; kept, so a
    /// list a client connection holds on to is always the pool's).
    private var lists: [Key: IdleList] = [:]

    /// The idle list of `key`'s backend.
    func list(_ key: Key) -> IdleList {
        if let list = lists[key] { return list }
        let list = IdleList()
        lists[key] = list
        return list
    }

    /// Forgets a connection that closed while idle.
    func remove(_ backend: BackendHandler) {
        for list in lists.values { list.remove(backend) }
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

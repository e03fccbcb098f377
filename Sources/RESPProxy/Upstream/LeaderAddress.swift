import Net
import Synchronization

/// Where the leader is now. Changed by the `leader-changed` event or a
/// SIGHUP re-read; new leader traffic follows at once, links to the old
/// leader finish what they carry and close.
final class LeaderAddress: Sendable {
    private let current: Mutex<Endpoint>

    init(_ endpoint: Endpoint) {
        current = Mutex(endpoint)
    }

    var endpoint: Endpoint { current.withLock { $0 } }

    /// Sets a new leader; returns false when it is the same.
    @discardableResult
    func change(to endpoint: Endpoint) -> Bool {
        current.withLock { old -> Bool in
            guard old != endpoint else { return false }
            old = endpoint
            return true
        }
    }
}

public import NIOCore
import Synchronization

/// The live connections of a listener: enforces the connection limit, counts
/// refusals, and closes what is left when a drain runs out of time.
///
/// Shared between the listener's accept loop and the connections' event
/// loops, so guarded by a mutex; touched once per accept and once per close.
public final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
        var accepted = 0
        var refused = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Most connections open at once; further ones are closed at accept.
    public let limit: Int
    private let state = Mutex(State())

    /// Creates a registry with a connection limit (`Int.max` for none).
    public init(limit: Int) {
        self.limit = limit
    }

    /// Outcome of ``admit(_:)``.
    public enum Admission: Sendable { case admitted, overLimit, draining }

    /// Registers a freshly accepted channel unless the limit is reached or the
    /// listener is draining; the channel leaves the registry when it closes.
    public func admit(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let admission: Admission = state.withLock { s in
            if s.draining { s.refused += 1; return .draining }
            if s.channels.count >= limit { s.refused += 1; return .overLimit }
            s.channels[id] = channel
            s.accepted += 1
            return .admitted
        }
        if admission == .admitted {
            channel.closeFuture.whenComplete { _ in self.remove(id) }
        }
        return admission
    }

    private func remove(_ id: ObjectIdentifier) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { s in
            s.channels[id] = nil
            guard s.channels.isEmpty else { return [] }
            defer { s.drainWaiters = [] }
            return s.drainWaiters
        }
        for w in waiters { w.resume() }
    }

    /// Connections open now.
    public var activeCount: Int { state.withLock { $0.channels.count } }
    /// Connections admitted since start.
    public var acceptedCount: Int { state.withLock { $0.accepted } }
    /// Connections refused since start (over the limit or while draining).
    public var refusedCount: Int { state.withLock { $0.refused } }
    /// True once a drain started: new connections are refused from then on.
    public var isDraining: Bool { state.withLock { $0.draining } }
    /// A snapshot of the open connections.
    public var channels: [any Channel] { state.withLock { Array($0.channels.values) } }

    /// Stops admitting; returns once every connection has closed.
    func waitUntilEmpty() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s in
                s.draining = true
                if s.channels.isEmpty { return true }
                s.drainWaiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }

    /// Marks the registry as draining: new connections are refused.
    func startDraining() {
        state.withLock { $0.draining = true }
    }
}

public import NIOCore

/// Tells whether a connection has been idle for `timeout`, without a clock
/// read per event: activity only bumps a counter (``touch()``), and a check
/// every ``period`` (a quarter of the timeout) compares it with the last one.
/// An idle connection is seen after `timeout` and at most a period later,
/// never sooner. Used by ``IdleTimeoutHandler`` and by handlers that watch
/// their connection's idleness themselves (one pipeline hop fewer per event).
public struct IdleWatch: Sendable {
    public let timeout: TimeAmount
    /// How often ``isIdle(now:)`` should be asked.
    public let period: TimeAmount
    /// Events so far (wrapping), and the count at the last check.
    private var activity: UInt32 = 0
    private var checked: UInt32 = 0
    /// No activity since this time, as far as the checks could see (at or after the last real activity).
    private var quietSince: NIODeadline

    public init(timeout: TimeAmount, now: NIODeadline) {
        self.timeout = timeout
        self.period = .nanoseconds(max(timeout.nanoseconds / 4, 1))
        self.quietSince = now
    }

    /// A read or a write.
    @inline(__always) public mutating func touch() { activity &+= 1 }

    /// At a check: true once nothing happened for `timeout`.
    public mutating func isIdle(now: NIODeadline) -> Bool {
        if activity != checked {
            checked = activity
            quietSince = now
            return false
        }
        return now - quietSince >= timeout
    }
}

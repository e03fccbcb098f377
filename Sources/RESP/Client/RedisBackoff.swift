public import NIOCore

/// Exponential backoff with jitter between reconnect attempts: attempt n
/// waits a random time between half and all of `min(maximum, initial · 2ⁿ)`,
/// so a cluster of clients does not reconnect in lock-step.
public struct RedisBackoff: Sendable {
    /// Delay before the second attempt (the first is immediate).
    public var initial: TimeAmount
    /// Upper bound of any delay.
    public var maximum: TimeAmount

    /// Creates a backoff policy (100 ms doubling up to 5 s by default).
    public init(initial: TimeAmount = .milliseconds(100), maximum: TimeAmount = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay after `failures` consecutive failed attempts (≥ 1).
    public func delay(afterFailures failures: Int) -> TimeAmount {
        let exponent = min(max(failures - 1, 0), 30)
        let ceiling = min(maximum.nanoseconds, initial.nanoseconds.multipliedReportingOverflow(by: 1 << exponent).partialValue)
        let capped = ceiling <= 0 ? maximum.nanoseconds : ceiling
        return .nanoseconds(Int64.random(in: (capped / 2)...max(capped / 2, capped)))
    }
}

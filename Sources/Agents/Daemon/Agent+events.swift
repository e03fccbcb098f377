import Logging
import RESP

extension Agent {
    /// `PSUBSCRIBE */event/*` on the replica, retried until it works, then
    /// dispatching until the subscription is closed.
    func listenForEvents() async {
        let dispatcher = EventDispatcher(core: core)
        var failures = 0
        let backoff = RedisBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        var sequence: RedisSubscription?
        while sequence == nil, !core.stopping.hasFired {
            do {
                sequence = try await replica.subscribe(patterns: ["*/event/*"])
            } catch {
                failures += 1
                if failures == 1 || failures % 20 == 0 {
                    core.logger.error("Event subscription failed: \(error); retrying")
                }
                await core.stopping.sleep(for: .nanoseconds(backoff.delay(afterFailures: failures).nanoseconds))
            }
        }
        guard let sequence else { return }
        subscription.withLock { $0 = sequence }
        markReady(subscribed: true)
        if core.stopping.hasFired { await sequence.close() }
        for await event in sequence {
            switch event {
            case .message(let channel, let payload, _):
                await dispatcher.dispatch(channel: channel, payload: payload)
                updateStatus()
            case .resubscribed:
                core.logger.warning("Event subscription restored after a Redis outage: events published meanwhile were missed")
            }
        }
    }
}

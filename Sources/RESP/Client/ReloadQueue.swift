public import Logging

/// Coalescing reload requests for a service that loads its configuration
/// from Redis: requests made while a load runs collapse into one more load;
/// a failed load is retried with ``RedisBackoff`` until one succeeds, the
/// last good configuration staying in use meanwhile.
public final class ReloadQueue: Sendable {
    private let requests: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let label: String
    private let logger: Logger

    /// - Parameter label: what is loaded, for the log (e.g. "routes and certificates").
    public init(label: String, logger: Logger) {
        (requests, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        self.label = label
        self.logger = logger
    }

    /// Asks for a reload (`reason` is logged at debug level).
    public func request(_ reason: String) { continuation.yield(reason) }

    /// Ends ``run(_:)`` once the current load is done.
    public func finish() { continuation.finish() }

    /// Runs `load` for each request until ``finish()``; `loaded` after every success.
    public func run(_ load: @Sendable () async throws -> Void, loaded: @Sendable () -> Void = {}) async {
        var failures = 0
        var everLoaded = false
        let backoff = RedisBackoff(initial: .milliseconds(200), maximum: .seconds(5))
        for await reason in requests {
            do {
                try await load()
                everLoaded = true
                loaded()
                if failures > 0 { logger.notice("\(label) loaded after \(failures) failed attempt(s)") }
                failures = 0
                logger.debug("reloaded", metadata: ["reason": "\(reason)"])
            } catch {
                failures += 1
                if failures == 1 || failures % 10 == 0 {
                    logger.error(everLoaded ? "reload of the \(label) (\(reason)) failed: \(error); retrying; the ones loaded before are still served"
                                            : "cannot load the \(label) yet: \(error); retrying")
                }
                try? await Task.sleep(for: .nanoseconds(backoff.delay(afterFailures: failures).nanoseconds))
                request("retry")
            }
        }
    }
}

extension RedisRoutingClient {
    /// Follows `channels` and `patterns` on the replica until cancelled, calling
    /// `onEvent` with the channel of each message — and with "resubscribed"
    /// whenever the subscription was restored (messages may have been missed).
    /// A lost Redis is retried with backoff; the first failure is logged.
    public func follow(channels: [String] = [], patterns: [String] = [], logger: Logger,
                       onEvent: @Sendable (String) -> Void) async {
        var failures = 0
        let backoff = RedisBackoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !Task.isCancelled {
            do {
                let events = try await subscribe(channels: channels, patterns: patterns)
                if failures > 0 { onEvent("resubscribed") }
                failures = 0
                for await event in events {
                    switch event {
                    case .message(let channel, _, _): onEvent(channel)
                    case .resubscribed: onEvent("resubscribed")
                    }
                }
                if Task.isCancelled { return }
            } catch {
                failures += 1
                if failures == 1 { logger.warning("cannot subscribe to \((channels + patterns).joined(separator: ", ")) yet: \(error); retrying") }
                try? await Task.sleep(for: .nanoseconds(backoff.delay(afterFailures: failures).nanoseconds))
            }
        }
    }
}

import Logging
public import NIOCore
import Synchronization

/// What a subscription yields.
public enum RedisSubscriptionEvent: Sendable, Equatable {
    /// A message on `channel`; `pattern` is set for PSUBSCRIBE matches.
    case message(channel: String, payload: ByteBuffer, pattern: String?)
    /// The connection was lost and is back with every subscription restored.
    /// Messages published in between were not received: re-read any state
    /// you follow from events.
    case resubscribed
}

/// SUBSCRIBE/PSUBSCRIBE on a dedicated connection, as an AsyncSequence of
/// ``RedisSubscriptionEvent``. After a lost connection it reconnects with
/// backoff, subscribes again to everything and yields `.resubscribed`.
/// A slow consumer stops reads from the socket (backpressure), it does not
/// grow memory. Iterate it once; call ``close()`` (or stop iterating) to
/// end it — the platform's `default` user may not UNSUBSCRIBE, so the
/// connection is simply closed.
public final class RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisSubscriptionEvent
    typealias Events = NIOAsyncSequenceProducer<RedisSubscriptionEvent,
                                                NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Core>

    private let core: Core
    private let events: Events

    private init(core: Core, events: Events) {
        self.core = core
        self.events = events
    }

    /// The channels and patterns this subscription holds.
    public var channels: [String] { core.channels }
    public var patterns: [String] { core.patterns }

    static func open(endpoint: RedisEndpoint, group: any EventLoopGroup, backoff: RedisBackoff, logger: Logger,
                     channels: [String], patterns: [String]) async throws(RedisClientError) -> RedisSubscription {
        precondition(!channels.isEmpty || !patterns.isEmpty, "subscribe to at least one channel or pattern")
        let core = Core(endpoint: endpoint, group: group, backoff: backoff, logger: logger,
                        channels: channels, patterns: patterns)
        let made = Events.makeSequence(backPressureStrategy: .init(lowWatermark: 64, highWatermark: 1024),
                                       finishOnDeinit: false, delegate: core)
        core.source = made.source
        do {
            try await core.connectAndSubscribe()
        } catch {
            await core.close()
            throw error
        }
        core.superviseInBackground()
        return RedisSubscription(core: core, events: made.sequence)
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: events.makeAsyncIterator())
    }

    /// Waits for the next event; nil once the subscription is closed.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Events.AsyncIterator
        public mutating func next() async -> RedisSubscriptionEvent? {
            await base.next()
        }
    }

    /// Closes the connection and ends the sequence.
    public func close() async {
        await core.close()
    }

    /// The connection side: pushes in, reconnects, backpressure.
    final class Core: NIOAsyncSequenceProducerDelegate, @unchecked Sendable {
        // `source` is set once before any use; the rest is under `state`.
        nonisolated(unsafe) var source: Events.Source!
        let endpoint: RedisEndpoint
        let group: any EventLoopGroup
        let backoff: RedisBackoff
        let logger: Logger
        let channels: [String], patterns: [String]
        private let state = Mutex<(connection: RedisConnection?, closed: Bool, confirmed: Int,
                                   ready: EventLoopPromise<Void>?, paused: Bool)>((nil, false, 0, nil, false))

        init(endpoint: RedisEndpoint, group: any EventLoopGroup, backoff: RedisBackoff, logger: Logger,
             channels: [String], patterns: [String]) {
            self.endpoint = endpoint
            self.group = group
            self.backoff = backoff
            self.logger = logger
            self.channels = channels
            self.patterns = patterns
        }

        /// One connection: HELLO, SUBSCRIBE/PSUBSCRIBE, wait for every confirmation.
        func connectAndSubscribe() async throws(RedisClientError) {
            let connection = try await endpoint.connect(group: group, onPush: { [weak self] in self?.push($0) },
                                                        isPush: RedisPushMessage.isPush)
            let ready = connection.channel.eventLoop.makePromise(of: Void.self)
            let closed = state.withLock { s -> Bool in
                if s.closed { return true }
                s.connection = connection
                s.confirmed = 0
                s.ready = ready
                return false
            }
            if closed { await connection.close(); throw .clientClosed }
            if state.withLock({ $0.paused }) { connection.channel.setOption(.autoRead, value: false).whenComplete { _ in } }
            var bytes = connection.channel.allocator.buffer(capacity: 64)
            if !channels.isEmpty { RESPCommandEncoder.encode(["subscribe"] + channels, into: &bytes) }
            if !patterns.isEmpty { RESPCommandEncoder.encode(["psubscribe"] + patterns, into: &bytes) }
            connection.channel.writeAndFlush(RedisRequest(bytes: bytes, promises: []), promise: nil)
            connection.closeFuture.whenComplete { _ in ready.fail(RedisClientError.connectionClosed) }
            let timeout = connection.channel.eventLoop.scheduleTask(in: endpoint.configuration.commandTimeout) {
                ready.fail(RedisClientError.timeout)
            }
            defer { timeout.cancel() }
            do {
                try await ready.futureResult.get()
            } catch {
                await connection.close()
                throw (error as? RedisClientError) ?? .connectionClosed
            }
        }

        /// Called on the event loop for every push.
        private func push(_ token: RESPToken) {
            switch RedisPushMessage(token) {
            case .message(let channel, let payload, let pattern):
                if source.yield(.message(channel: channel, payload: payload, pattern: pattern)) == .stopProducing {
                    state.withLock { $0.paused = true }
                    state.withLock { $0.connection }?.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                }
            case .subscribed:
                let ready = state.withLock { s -> EventLoopPromise<Void>? in
                    s.confirmed += 1
                    return s.confirmed == channels.count + patterns.count ? s.ready : nil
                }
                ready?.succeed()
            case .other:
                break
            }
        }

        /// Reconnects whenever the connection closes, until closed.
        func superviseInBackground() {
            Task {
                while let connection = state.withLock({ $0.closed ? nil : $0.connection }) {
                    try? await connection.closeFuture.get()
                    var failures = 0
                    while !state.withLock({ $0.closed }) {
                        do throws(RedisClientError) {
                            try await connectAndSubscribe()
                            logger.notice("Redis subscription restored", metadata: [
                                "redis": "\(endpoint)", "channels": "\(channels)", "patterns": "\(patterns)"])
                            _ = source.yield(.resubscribed)
                            break
                        } catch {
                            failures += 1
                            let delay = backoff.delay(afterFailures: failures)
                            logger.warning("Redis subscription lost, retrying", metadata: [
                                "redis": "\(endpoint)", "error": "\(error)", "attempt": "\(failures)",
                                "retry_in_ms": "\(delay.nanoseconds / 1_000_000)"])
                            try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
                        }
                    }
                }
            }
        }

        func produceMore() {
            let connection = state.withLock { s -> RedisConnection? in s.paused = false; return s.connection }
            connection?.channel.setOption(.autoRead, value: true).whenComplete { _ in }
        }

        func didTerminate() {
            Task { await close() }
        }

        func close() async {
            let connection = state.withLock { s -> RedisConnection? in
                s.closed = true
                defer { s.connection = nil }
                return s.connection
            }
            source?.finish()
            await connection?.close()
        }
    }
}

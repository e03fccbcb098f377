import Logging
import NIOCore
import Synchronization

/// One shared connection that reconnects on demand: callers get the live
/// connection at once; while there is none, they wait (until their own
/// deadline) for a single connect loop that retries with ``RedisBackoff``.
final class RedisConnectionSlot: Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<RedisConnection, any Error>
        var timeout: Scheduled<Void>?
    }

    private struct State {
        var connection: RedisConnection?
        var connecting = false
        var closed = false
        var lastError = "not connected yet"
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let endpoint: RedisEndpoint
    private let group: any EventLoopGroup
    private let backoff: RedisBackoff
    private let logger: Logger
    private let shared: Bool
    private let state = Mutex(State())

    /// A `shared` slot keeps its connection for later callers; a private
    /// one (a leased connection) hands it to its one waiter or closes it.
    init(endpoint: RedisEndpoint, group: any EventLoopGroup, backoff: RedisBackoff, logger: Logger, shared: Bool = true) {
        self.shared = shared
        self.endpoint = endpoint
        self.group = group
        self.backoff = backoff
        self.logger = logger
    }

    /// The live connection, or the next one made before `deadline`.
    func connection(deadline: NIODeadline) async throws(RedisClientError) -> RedisConnection {
        if let live = state.withLock({ $0.connection }), live.isActive { return live }
        do {
            return try await wait(deadline: deadline)
        } catch let error as RedisClientError {
            throw error
        } catch {
            throw .notConnected("\(error)")
        }
    }

    private func wait(deadline: NIODeadline) async throws -> RedisConnection {
        let id = state.withLock { s -> UInt64 in s.nextWaiter += 1; return s.nextWaiter }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisConnection, any Error>) in
                enum Action { case resume(Result<RedisConnection, any Error>), startLoop, none }
                let action = state.withLock { s -> Action in
                    if s.closed { return .resume(.failure(RedisClientError.clientClosed)) }
                    if let live = s.connection, live.isActive { return .resume(.success(live)) }
                    s.connection = nil
                    s.waiters[id] = Waiter(continuation: continuation, timeout: nil)
                    if s.connecting { return .none }
                    s.connecting = true
                    return .startLoop
                }
                switch action {
                case .resume(let result):
                    continuation.resume(with: result)
                    return
                case .startLoop:
                    Task { await self.connectLoop() }
                case .none:
                    break
                }
                // Armed after registering, so an early firing still finds the waiter.
                let timeout = group.any().scheduleTask(deadline: deadline) { [self] in
                    resume(id, with: .failure(RedisClientError.notConnected(state.withLock { $0.lastError })))
                }
                let waiting = state.withLock { s -> Bool in
                    guard s.waiters[id] != nil else { return false }
                    s.waiters[id]?.timeout = timeout
                    return true
                }
                if !waiting { timeout.cancel() }
            }
        } onCancel: {
            resume(id, with: .failure(CancellationError()))
        }
    }

    private func resume(_ id: UInt64, with result: Result<RedisConnection, any Error>) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.timeout?.cancel()
        waiter?.continuation.resume(with: result)
    }

    /// Connects, retrying with backoff, until it succeeds, the slot closes
    /// or nobody waits any more (the next caller starts a new loop).
    private func connectLoop() async {
        var failures = 0
        while true {
            let stop = state.withLock { s -> Bool in
                guard s.closed || (failures > 0 && s.waiters.isEmpty) else { return false }
                s.connecting = false
                return true
            }
            if stop { return }
            do throws(RedisClientError) {
                let connection = try await endpoint.connect(group: group)
                if failures > 0 { logger.notice("Redis connection restored", metadata: ["redis": "\(endpoint)", "attempts": "\(failures + 1)"]) }
                let (waiters, closed) = state.withLock { s -> ([Waiter], Bool) in
                    s.connecting = false
                    if s.closed || (!shared && s.waiters.isEmpty) { return ([], true) }
                    if shared { s.connection = connection }
                    defer { s.waiters.removeAll() }
                    return (Array(s.waiters.values), false)
                }
                if closed { await connection.close(); return }
                for w in waiters {
                    w.timeout?.cancel()
                    w.continuation.resume(returning: connection)
                }
                return
            } catch {
                failures += 1
                let delay = backoff.delay(afterFailures: failures)
                state.withLock { $0.lastError = "\(endpoint): \(error)" }
                logger.warning("Redis unreachable, retrying", metadata: [
                    "redis": "\(endpoint)", "error": "\(error)", "attempt": "\(failures)",
                    "retry_in_ms": "\(delay.nanoseconds / 1_000_000)"])
                try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
            }
        }
    }

    /// Closes the connection; waiting callers fail with `.clientClosed`.
    func close() async {
        let (connection, waiters) = state.withLock { s -> (RedisConnection?, [Waiter]) in
            s.closed = true
            defer { s.waiters.removeAll(); s.connection = nil }
            return (s.connection, Array(s.waiters.values))
        }
        for w in waiters {
            w.timeout?.cancel()
            w.continuation.resume(throwing: RedisClientError.clientClosed)
        }
        await connection?.close()
    }
}

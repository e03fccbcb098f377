import Logging
import RESP
import Synchronization

/// The non-final writes of one task, in order, off the step's path:
/// the context SET, progress publishes and heartbeat EXPIREs. What is
/// queued goes out in one pipelined write per batch; what is still
/// queued at the end rides in front of the final MULTI/EXEC. While Redis
/// is unreachable the queue collapses to its newest progress message (a
/// watcher only needs the current state); nothing here delays the result.
final class TaskPublisher: Sendable {
    enum Write: Sendable {
        /// `SET context <json> EX <running ttl>`, first of all.
        case setContext(String)
        case publish(String)
        case expireContext
    }

    private let redis: RedisClient
    private let channel: String
    private let contextKey: String
    private let ttl: Int
    private let state = Mutex<(queue: [Write], waiting: CheckedContinuation<Void, Never>?, finished: Bool)>(([], nil, false))
    private let worker = Mutex<Task<Void, Never>?>(nil)
    private let stored = Atomic<Bool>(false)

    /// True once the context's SET reached Redis (else the final write sets it).
    var contextStored: Bool { stored.load(ordering: .acquiring) }

    init(redis: RedisClient, agentID: String, taskID: String, ttl: Int) {
        self.redis = redis
        channel = "progress/\(agentID)/task/\(taskID)"
        contextKey = "task/\(agentID)/\(taskID)/context"
        self.ttl = ttl
        worker.withLock { $0 = Task { await self.drain() } }
    }

    /// Queues a write; never waits.
    func enqueue(_ write: Write) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.finished else { return nil }
            s.queue.append(write)
            defer { s.waiting = nil }
            return s.waiting
        }
        waiter?.resume()
    }

    /// Stops sending (after the batch in flight) and returns what is still
    /// queued, as commands to send before the final transaction (the
    /// context SET excluded: the transaction writes an unstored context itself).
    func finish() async -> [[String]] {
        stop()
        await worker.withLock { $0 }?.value
        let left = state.withLock { s -> [Write] in defer { s.queue.removeAll() }; return s.queue }
        return left.compactMap { if case .setContext = $0 { nil } else { command($0) } }
    }

    /// Stops sending after the batch in flight, without waiting for it; later writes are dropped.
    func stop() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.waiting = nil }
            return s.waiting
        }
        waiter?.resume()
    }

    private func command(_ write: Write) -> [String] {
        switch write {
        case .setContext(let json): ["set", contextKey, json, "ex", String(ttl)]
        case .publish(let message): ["publish", channel, message]
        case .expireContext: ["expire", contextKey, String(ttl)]
        }
    }

    /// The next batch; nil once finished.
    private func next() async -> [Write]? {
        while true {
            let taken = state.withLock { s -> [Write]?? in
                if s.finished { return .some(nil) }
                if !s.queue.isEmpty { defer { s.queue.removeAll() }; return .some(s.queue) }
                return nil
            }
            if let taken { return taken }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if !s.queue.isEmpty || s.finished { return true }
                    s.waiting = c
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    private func drain() async {
        while let batch = await next() {
            let replies: [Result<RESPToken, RedisClientError>]
            do {
                replies = try await redis.pipeline(batch.map(command), timeout: .seconds(2))
            } catch {
                // Unreachable: of this batch keep only the newest progress message, for the next round.
                let newest = batch.last { if case .publish = $0 { true } else { false } }
                state.withLock { s in s.queue.insert(contentsOf: [batch.first { if case .setContext = $0 { true } else { false } }, newest].compactMap { $0 }, at: 0) }
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            if case .setContext = batch[0], case .success = replies[0] { stored.store(true, ordering: .releasing) }
        }
    }
}

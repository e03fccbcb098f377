import Logging
import RESP
import Synchronization

/// The non-final writes of one task, in order, off the step's path:
/// progress publishes and heartbeat EXPIREs. While Redis is unreachable
/// the queue collapses to its newest progress message (a watcher only
/// needs the current state); nothing here may delay the final result.
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

    /// Sends what is queued, then stops (before the final MULTI/EXEC).
    func finish() async {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.waiting = nil }
            return s.waiting
        }
        waiter?.resume()
        await worker.withLock { $0 }?.value
    }

    private func next() async -> [Write]? {
        while true {
            let taken = state.withLock { s -> [Write]?? in
                if !s.queue.isEmpty { defer { s.queue.removeAll() }; return .some(s.queue) }
                return s.finished ? .some(nil) : nil
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
        while var batch = await next() {
            while !batch.isEmpty {
                let write = batch.removeFirst()
                let command: [String]
                switch write {
                case .setContext(let json): command = ["set", contextKey, json, "ex", String(ttl)]
                case .publish(let message): command = ["publish", channel, message]
                case .expireContext: command = ["expire", contextKey, String(ttl)]
                }
                do {
                    _ = try await redis.send(command, timeout: .seconds(2))
                    if case .setContext = write { stored.store(true, ordering: .releasing) }
                } catch {
                    // Unreachable: of what waits, keep only the newest progress message.
                    batch = Array(batch.filter { if case .publish = $0 { true } else { false } }.suffix(1))
                }
            }
        }
    }
}

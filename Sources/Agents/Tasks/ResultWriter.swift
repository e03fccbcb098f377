import Logging
import NIOCore
import RESP

/// Writes final results in one MULTI/EXEC, retrying with backoff while
/// Redis is unreachable: a result is kept (in memory) until it is written
/// or the agent is told to give up (SIGTERM's deadline).
struct ResultWriter: Sendable {
    let redis: RedisClient
    let agentID: String
    let resultTTL: Int
    let logger: Logger
    let backoff = RedisBackoff(initial: .milliseconds(200), maximum: .seconds(5))

    /// The transaction: environment copy, output, error, exit code, context TTL, final publish.
    func commands(_ result: TaskResult, environment: [(key: String, value: String)]) -> [[ByteBuffer]] {
        func b(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
        let base = "task/\(agentID)/\(result.taskID)/"
        let ttl = b(String(resultTTL))
        var commands: [[ByteBuffer]] = [[b("multi")], [b("del"), b(agentID + "/environment")]]
        if !environment.isEmpty {
            var hset = [b("hset"), b(agentID + "/environment")]
            for (k, v) in environment { hset += [b(k), b(v)] }
            commands.append(hset)
        }
        commands.append([b("set"), b(base + "output"), result.output, b("ex"), ttl])
        commands.append([b("set"), b(base + "error"), result.error, b("ex"), ttl])
        commands.append([b("set"), b(base + "exit_code"), b(String(result.exitCode)), b("ex"), ttl])
        if let context = result.unwrittenContext {
            commands.append([b("set"), b(base + "context"), b(context), b("ex"), ttl])
        } else {
            commands.append([b("expire"), b(base + "context"), ttl])
        }
        commands.append([b("publish"), b("progress/\(agentID)/task/\(result.taskID)"), b(result.progressMessage)])
        commands.append([b("exec")])
        return commands
    }

    /// Writes `result`; returns false only when `giveUp` fired before it could.
    @discardableResult
    func write(_ result: TaskResult, giveUp: Wakeup? = nil, reportFailures: Bool = true) async -> Bool {
        var failures = 0
        var prefix = result.pendingWrites.map { $0.map { ByteBuffer(string: $0) } }
        while true {
            let environment = StateEnvironment.deduplicated(StateEnvironment.load())
            do {
                let replies = try await redis.pipeline(prefix + commands(result, environment: environment))
                prefix = []  // progress is not retried: the final status says it all
                if case .failure(let error) = replies.last! { throw error }
                guard case .success(let exec) = replies.last!, let results = exec.value.elements else {
                    throw RedisClientError.unexpectedType(expected: "EXEC results", got: "nothing")
                }
                if let message = results.compactMap(\.errorText).first { throw RedisClientError.server(message) }
                // EXPIRE answered 0: the context is gone (Redis restarted without it); write it again.
                if result.unwrittenContext == nil, let context = result.context, results.count >= 2,
                   results[results.count - 2].int == 0 {
                    _ = try await redis.send(["set", "task/\(agentID)/\(result.taskID)/context", context, "ex", String(resultTTL)])
                }
                if failures > 0 {
                    logger.notice("task/\(agentID)/\(result.taskID): result written after \(failures) failed attempts")
                }
                return true
            } catch {
                prefix = []
                failures += 1
                if reportFailures && (failures == 1 || failures % 20 == 0) {
                    logger.error("Redis command failed: \(error); the result of task/\(agentID)/\(result.taskID) is kept and retried")
                }
                if giveUp?.hasFired == true { return false }
                let delay = backoff.delay(afterFailures: failures)
                if let giveUp { await giveUp.sleep(for: .nanoseconds(delay.nanoseconds)) } else {
                    try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
                }
            }
        }
    }
}

extension RESPValue {
    /// The message of an error reply inside an EXEC result.
    var errorText: String? {
        if case .simpleError(let b) = self { return String(buffer: b) }
        if case .bulkError(let b) = self { return String(buffer: b) }
        return nil
    }
}

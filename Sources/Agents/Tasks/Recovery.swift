import NIOCore
import RESP

/// Start-up recovery: every `task/<agent id>/*/context` without an
/// `exit_code` belongs to a task an earlier run of this agent never
/// finished; it gets an aborted result (12) so nobody waits for it forever.
enum Recovery {
    /// Scans and writes; returns the ids recovered.
    static func run(core: AgentCore) async throws(RedisClientError) -> [String] {
        let prefix = "task/\(core.agentID)/"
        var recovered: [String] = []
        var keys = core.redis.scan(match: prefix + "*/context").makeAsyncIterator()
        while let key = try await keys.next() {
            let id = String(key.dropFirst(prefix.count).dropLast("/context".count))
            guard !id.isEmpty, !id.contains("/") else { continue }
            if try await core.redis.exists([prefix + id + "/exit_code"]) > 0 { continue }
            let action = (try? await core.redis.get(key)).flatMap { text in
                (try? AgentTask.decode(text))?.action
            } ?? "{unknown}"
            let result = TaskResult(
                taskID: id, action: action, status: .aborted, progress: 0, output: ByteBuffer(),
                error: ByteBuffer(string: "Task interrupted: agent \(core.agentID) stopped before the task finished; result written at its next start\n"),
                exitCode: 12, unwrittenContext: nil, lastStep: "{unknown}")
            await core.writer.write(result, giveUp: core.terminating)
            core.logger.warning("task/\(core.agentID)/\(id): action \"\(action)\" was interrupted by an agent stop; status is \"aborted\" (12)")
            recovered.append(id)
        }
        return recovered
    }
}

import JSON

public import RESP

/// Follows one submitted task to its end: progress from the channel, and,
/// as a safety net for a missed final message, a look at `exit_code`
/// every second.
public struct TaskFollower: Sendable {
    let client: TaskClient
    let agentID: String
    let taskID: String

    public init(client: TaskClient, agentID: String, taskID: String) {
        self.client = client
        self.agentID = agentID
        self.taskID = taskID
    }

    /// Waits for the task's result, calling `update` for each progress message.
    public func wait(on subscription: RedisSubscription,
                     update: @escaping @Sendable (TaskClient.Progress) -> Void) async throws(RedisClientError) -> TaskClient.Record {
        let poller = Task { [client, agentID, taskID] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if let record = try? await client.record(agentID: agentID, taskID: taskID), record.exitCode != nil {
                    await subscription.close()
                    return
                }
            }
        }
        defer { poller.cancel() }
        for await event in subscription {
            guard case .message(_, let payload, _) = event, let p = TaskClient.parseProgress(payload) else { continue }
            update(p)
            if p.isFinal { break }
        }
        await subscription.close()
        // The final publish is part of the result's MULTI/EXEC: the keys are there.
        var record = try await client.record(agentID: agentID, taskID: taskID)
        while record.exitCode == nil {
            try? await Task.sleep(for: .milliseconds(200))
            record = try await client.record(agentID: agentID, taskID: taskID)
        }
        return record
    }
}

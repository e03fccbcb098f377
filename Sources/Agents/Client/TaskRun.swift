public import JSON
import Net
import RESP
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// `nscore task run`: check the agent listens, subscribe, push, follow,
/// print, and give back the task's exit status.
public struct TaskRun: Sendable {
    public var agentID: String
    public var action: String
    public var data: JSONValue
    public var user: String
    public var check = true
    public var wait = true
    public var raw = false

    public init(agentID: String, action: String, data: JSONValue, user: String) {
        self.agentID = agentID
        self.action = action
        self.data = data
        self.user = user
    }

    /// Exit status when no agent listens (nothing queued).
    public static let notListening: Int32 = 3

    /// Runs it; returns the process exit status (the task's code, 1 for a Redis failure).
    public func perform(with client: TaskClient) async -> Int32 {
        do {
            if check {
                do {
                    guard try await client.isListening(agentID) else {
                        StandardError.write("nscore task: no agent \(agentID) is listening (no Redis client named \(agentID) idle for 8 s or less); start it, or use --no-check to queue anyway\n")
                        return Self.notListening
                    }
                } catch where error.serverCode == "NOPERM" {
                    StandardError.write("nscore task: cannot check that \(agentID) is listening (\(error)); queueing anyway\n")
                }
            }
            let id = TaskClient.newID()
            guard wait else {
                try await client.submit(agentID: agentID, action: action, data: data, user: user, id: id)
                StandardOutput.write(id + "\n")
                return 0
            }
            let subscription = try await client.progress(agentID: agentID, taskID: id)
            // Ctrl-C is trapped before the task is queued: once queued, it may start at once.
            let interrupts = cancelOnInterrupt(id, client, signals: await UnixSignalsSequence(trapping: .sigint))
            try await client.submit(agentID: agentID, action: action, data: data, user: user, id: id)
            let display = ProgressDisplay(terminal: isatty(STDERR_FILENO) != 0)
            let started = ContinuousClock.now
            let record = try await TaskFollower(client: client, agentID: agentID, taskID: id).wait(on: subscription) { p in
                display.show(p, elapsed: ContinuousClock.now - started)
            }
            interrupts.cancel()
            if !raw, let json = try? JSONValue.parse(record.output) {
                StandardOutput.write(json.prettySerialized + "\n")
            } else {
                StandardOutput.write(record.output)
            }
            if !record.error.isEmpty { StandardError.write(record.error) }
            return Int32(truncatingIfNeeded: (record.exitCode ?? 1) & 0xff)
        } catch {
            StandardError.write("nscore task: \(error)\n")
            return 1
        }
    }

    /// Ctrl-C: push `cancel-task` for the task and keep waiting; a second Ctrl-C leaves (130).
    private func cancelOnInterrupt(_ id: String, _ client: TaskClient, signals: UnixSignalsSequence) -> Task<Void, Never> {
        Task {
            var count = 0
            for await _ in signals {
                count += 1
                if count > 1 { exit(130) }
                StandardError.write("\nnscore task: cancelling \(id)…\n")
                _ = try? await client.submit(agentID: agentID, action: "cancel-task", data: .object([("task", .string(id))]), user: user)
            }
        }
    }
}

/// The texts of `nscore task get` and `nscore task list`.
public enum TaskReports {
    /// A finished (or running) task: context, exit code, output, error.
    public static func describe(_ record: TaskClient.Record) -> String {
        let context = record.context.map { c in (try? JSONValue.parse(c))?.prettySerialized ?? c } ?? "(none)"
        func block(_ text: String) -> String { text.isEmpty || text.hasSuffix("\n") ? text : text + "\n" }
        return "context: \(context)\nexit code: \(record.exitCode.map(String.init) ?? "(still running)")\n"
            + "output:\n\(block(record.output))error:\n\(block(record.error))"
    }

    /// One line per task, running ones first.
    public static func table(_ tasks: [TaskClient.Summary], resultTTL: Int = 28800) -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        var out = pad("TASK", 38) + pad("ACTION", 26) + pad("EXIT", 9) + pad("AGE", 9) + "USER\n"
        for t in tasks {
            let age = t.exitCode == nil ? "-" : "\(max(0, resultTTL - t.ttl) / 60)m"
            out += pad(t.taskID, 38) + pad(t.action, 26) + pad(t.exitCode.map(String.init) ?? "running", 9) + pad(age, 9) + t.user + "\n"
        }
        return out
    }
}

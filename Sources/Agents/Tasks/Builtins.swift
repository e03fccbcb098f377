import JSON
import NIOCore

/// The actions every agent has without a directory: `list-actions` and `cancel-task`.
enum Builtins {
    static let names = ["list-actions", "cancel-task"]

    /// Runs a builtin task (nothing is spawned); publishes pending, running, the final status.
    static func run(_ task: AgentTask, core: AgentCore, work: RunningWork) async {
        let publisher = TaskPublisher(redis: core.redis, agentID: core.agentID, taskID: task.id, ttl: core.configuration.runningTTL)
        let context = task.envelope.maskingSecrets.serialized
        publisher.enqueue(.setContext(context))
        var progress = ActionProgress(steps: [task.action])
        publisher.enqueue(.publish(progress.message))
        var result = TaskResult(taskID: task.id, action: task.action, status: .completed, progress: 0, output: ByteBuffer(),
                                error: ByteBuffer(), exitCode: 0, unwrittenContext: nil, lastStep: task.action)
        switch task.action {
        case "list-actions":
            progress.status = .running
            publisher.enqueue(.publish(progress.message))
            let all = core.actions.names() + names
            result.output = ByteBuffer(string: JSONValue.array(all.map(JSONValue.string)).serialized)
            result.lastStep = "list-actions"
            progress.set(step: 0, progress: 100)
        default:
            cancel(task, core: core, progress: &progress, publisher: publisher, result: &result)
        }
        result.status = progress.status == .running ? .completed : progress.status
        result.progress = progress.progress
        result.pendingWrites = await publisher.finish()
        if !publisher.contextStored { result.unwrittenContext = context }
        result.context = context
        await core.finish(work, result)
    }

    /// `cancel-task {"task": ID}`: SIGTERM to the target's running step and to each later step.
    private static func cancel(_ task: AgentTask, core: AgentCore, progress: inout ActionProgress,
                               publisher: TaskPublisher, result: inout TaskResult) {
        var target: String?
        if case .object = task.data, case .string(let id)? = task.data["task"], !id.isEmpty {
            switch task.data["timeout"] {
            case nil, .null?: target = id
            case .number?: target = task.data["timeout"]!.isInteger ? id : nil
            default: target = nil
            }
        }
        func refuse(_ code: Int, at step: String, _ why: String) {
            let message = "Action cancel-task validation-failed at step \(step): \(why)"
            core.logger.error("\(message)")
            progress.status = .validationFailed
            result.exitCode = code
            result.error = ByteBuffer(string: message)
            result.lastStep = step
        }
        guard let target else {
            refuse(10, at: "builtin-validation.json", "invalid task ID or timeout value")
            return
        }
        progress.status = .running
        publisher.enqueue(.publish(progress.message))
        guard let work = core.tasks.find(target) else {
            refuse(2, at: "task-lookup", "task ID not found")
            return
        }
        core.logger.info("task/\(core.agentID)/\(task.id): cancel-task/task-lookup is starting")
        core.logger.warning("task/\(core.agentID)/\(target): Sending TERM signal to action \"\(work.action)\"")
        work.cancel()
        progress.set(step: 0, progress: 100)
        result.lastStep = "cancellation"
    }
}

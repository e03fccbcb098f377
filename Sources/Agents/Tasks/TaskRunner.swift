import JSON
import JSONSchema
import Logging
import Net
import NIOCore
import Synchronization

/// Runs one task's action: its steps in order, validation, the command
/// pipe, progress and heartbeats, then the result (AGENT-PROTOCOL.md, "Tasks").
struct TaskRunner: Sendable {
    let core: AgentCore
    let task: AgentTask
    let work: RunningWork

    private var agentID: String { core.agentID }

    /// Runs the task to its result (written, or handed to the SIGTERM path).
    func run() async {
        let publisher = TaskPublisher(redis: core.redis, agentID: agentID, taskID: task.id, ttl: core.configuration.runningTTL)
        work.publishes(through: publisher)
        let context = work.context ?? task.envelope.maskingSecrets.serialized
        publisher.enqueue(.setContext(context))
        let steps = core.actions.steps(of: task.action)
        let state = SharedProgress(ActionProgress(steps: steps.map(\.name)))
        publisher.enqueue(.publish(state.withLock { $0.message }))
        var result = await execute(steps, state, publisher)
        result.pendingWrites = await publisher.finish()
        if !publisher.contextStored { result.unwrittenContext = context }
        result.context = context
        await core.finish(work, result)
    }

    private func publish(_ state: SharedProgress, _ publisher: TaskPublisher) {
        let (message, progress) = state.withLock { ($0.message, $0.progress) }
        work.progress = progress
        publisher.enqueue(.publish(message))
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    private func execute(_ steps: [ActionCatalog.Step], _ state: SharedProgress,
                         _ publisher: TaskPublisher) async -> TaskResult {
        var output = ByteBuffer()
        var error = ByteBuffer()
        var exitCode = 0
        var lastStep = "{unknown}"
        let input = Array(task.data.serialized.utf8)
        if steps.isEmpty {
            error.writeString("Action \(task.action) is not defined\n")
            exitCode = 8
            state.withLock { $0.status = .aborted }
            core.logger.error("Action \(task.action) is not defined")
        }
        for (index, step) in steps.enumerated() {
            lastStep = step.name
            if step.name == ActionCatalog.validateInput || step.name == ActionCatalog.validateOutput {
                if let failure = validate(step, output: output) {
                    output = failure.output ?? output
                    error.writeString(failure.error)
                    exitCode = failure.exitCode
                    state.withLock { $0.status = failure.status }
                    break
                }
                continue
            }
            if state.withLock({ $0.status == .pending }) {
                state.withLock { $0.status = .running }
                publish(state, publisher)
            }
            if let why = FileSystem.whyNotExecutable(step.path) {
                skip(step, why, index, state, publisher)
                continue
            }
            var environment = core.stepEnvironment
            environment.merge(StateEnvironment.load())
            environment["AGENT_COMFD"] = "3"
            environment["AGENT_TASK_ID"] = task.id
            environment["AGENT_TASK_ACTION"] = task.action
            environment["AGENT_TASK_USER"] = task.user
            let launch = StepLaunch(path: step.path, environment: environment.entries, input: input, capture: true, commandPipe: true)
            let heartbeat = Task { [core] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: core.configuration.pollingInterval)
                    if Task.isCancelled { return }
                    publisher.enqueue(.expireContext)
                    publish(state, publisher)
                }
            }
            let outcome: StepOutcome
            do {
                outcome = try await StepProcess.run(
                    launch, group: core.group,
                    started: { pid in
                        work.stepStarted(pid)
                        core.logger.info("task/\(agentID)/\(task.id): \(task.action)/\(step.name) is starting")
                    },
                    onCommand: { line in command(line, index, state, publisher) },
                    onStderr: { chunk in chunk.withUnsafeReadableBytes { StandardError.write($0) } })
            } catch let failure {
                heartbeat.cancel()
                skip(step, failure.reason, index, state, publisher)
                continue
            }
            heartbeat.cancel()
            work.stepEnded()
            if var out = outcome.stdout?.bytes { output.writeBuffer(&out) }
            if var err = outcome.stderr?.bytes { error.writeBuffer(&err) }
            if outcome.stdout?.truncated == true || outcome.stderr?.truncated == true {
                error.writeString("(output of step \(step.name) cut at \(StepProcess.outputLimit) bytes)\n")
            }
            if outcome.abandonedPipes {
                core.logger.warning("task/\(agentID)/\(task.id): \(task.action)/\(step.name) exited but left processes holding its output; stopped reading")
            }
            if outcome.status.code != 0 {
                exitCode = outcome.status.code
                state.withLock { if $0.status == .running { $0.status = .aborted } }
                break
            }
            if state.withLock({ $0.status == .validationFailed }) {
                exitCode = 10
                core.logger.warning("Action \"\(task.action)\" validation-failed at step \(step.path). Exit code is not set! Forced to 10")
                break
            }
            state.withLock { $0.set(step: index, progress: 100) }
            publish(state, publisher)
        }
        let status = state.withLock { s -> TaskStatus in
            if exitCode == 0, s.status == .running || s.status == .pending { s.status = .completed }
            return s.status
        }
        return TaskResult(taskID: task.id, action: task.action, status: status, progress: state.withLock { $0.progress },
                          output: output, error: error, exitCode: exitCode, unwrittenContext: nil, lastStep: lastStep)
    }

    private func skip(_ step: ActionCatalog.Step, _ why: String, _ index: Int, _ state: SharedProgress, _ publisher: TaskPublisher) {
        core.logger.warning("Action \(task.action) skipped step \(step.name): \(why)")
        state.withLock { $0.set(step: index, progress: 100) }
        publish(state, publisher)
    }

    /// One line from the step's command pipe; a bad one is logged and ignored.
    private func command(_ line: String, _ index: Int, _ state: SharedProgress, _ publisher: TaskPublisher) {
        if line.isEmpty || line == "\r" { return }
        do {
            switch try StepCommand.parse(Substring(line)) {
            case .setProgress(let p):
                state.withLock { $0.set(step: index, progress: p) }
                publish(state, publisher)
            case .setWeight(let name, let weight):
                if !state.withLock({ $0.setWeight(name, weight) }) {
                    core.logger.error("set-weight command failed: Step \(name) not found")
                }
            case .setValidationFailed:
                state.withLock { $0.status = .validationFailed }
            }
        } catch {
            core.logger.error("\(error.reason)")
        }
    }

    private struct ValidationFailure {
        var status: TaskStatus, exitCode: Int, error: String, output: ByteBuffer?
    }

    /// Applies a validation step; nil when it passes.
    private func validate(_ step: ActionCatalog.Step, output: ByteBuffer) -> ValidationFailure? {
        let isInput = step.name == ActionCatalog.validateInput
        let instance: JSONValue
        if isInput {
            instance = task.data
        } else {
            do { instance = try JSONValue.parse(String(buffer: output)) } catch {
                let message = "Validation errors: the output is not JSON (\(error)), JSON Schema output validation aborted at step \(step.path)"
                core.logger.error("\(message)")
                return ValidationFailure(status: .aborted, exitCode: 1, error: message + "\n", output: nil)
            }
        }
        let violations: [JSONSchemaViolation]
        do {
            violations = try ActionValidation.check(instance, schemaPath: step.path, installDirectory: core.configuration.installDirectory)
        } catch {
            let message = "Validation errors: JSON Schema \(isInput ? "input" : "output") validation aborted at step \(step.path): \(error)"
            core.logger.error("\(message)")
            return ValidationFailure(status: .aborted, exitCode: 1, error: message + "\n", output: nil)
        }
        if violations.isEmpty { return nil }
        let summary = ActionValidation.summary(violations)
        if isInput {
            core.logger.error("Action \(task.action) validation-failed at step \(step.path): \(summary)")
            let array = ActionValidation.errorArray(violations).serialized
            return ValidationFailure(status: .validationFailed, exitCode: 10, error: summary + "\n", output: ByteBuffer(string: array))
        }
        core.logger.error("Action \(task.action) aborted at step \(step.path): \(summary)")
        return ValidationFailure(status: .aborted, exitCode: 1, error: summary + "\n", output: nil)
    }
}

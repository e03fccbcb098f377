import Logging
import Net
import NIOCore
import RESP

/// Runs event handlers for `<source>/event/<name>` messages: each event
/// concurrently, its steps in order (AGENT-PROTOCOL.md, "Events").
struct EventDispatcher: Sendable {
    let core: AgentCore

    /// Handles one message from the subscription.
    func dispatch(channel: String, payload: ByteBuffer) async {
        guard let marker = channel.firstRange(of: "/event/") else { return }
        let source = String(channel[..<marker.lowerBound])
        let name = String(channel[marker.upperBound...])
        let steps = core.events.steps(of: name)
        guard !steps.isEmpty else { return }
        if core.handlers.count >= core.configuration.maxConcurrency {
            try? await Task.sleep(for: core.configuration.overloadSleep)
            if core.handlers.count >= core.configuration.maxConcurrency {
                core.logger.warning("Agent is busy. Event \(channel) rejected!")
                return
            }
        }
        let work = RunningWork(id: "event:\(channel):\(UInt64.random(in: 0...UInt64.max))", action: name)
        core.handlers.insert(work)
        Task {
            await run(steps, source: source, name: name, payload: Array(payload.readableBytesView), work: work)
            core.handlers.remove(work)
        }
    }

    private func run(_ steps: [ActionCatalog.Step], source: String, name: String, payload: [UInt8], work: RunningWork) async {
        let label = "\(source)/event/\(name)"
        var exitCode = 0
        var lastStep = ""
        for step in steps {
            lastStep = step.name
            if core.terminating.hasFired { return }
            if let why = FileSystem.whyNotExecutable(step.path) {
                core.logger.warning("Handler of \(label) skipped step \(step.name): \(why)")
                continue
            }
            var environment = core.stepEnvironment
            environment.merge(StateEnvironment.load())
            environment["AGENT_COMFD"] = "2"
            environment["AGENT_EVENT_NAME"] = name
            environment["AGENT_EVENT_SOURCE"] = source
            core.logger.debug("Handler of \(label) is starting step \(step.name)")
            let launch = StepLaunch(path: step.path, environment: environment.entries, input: payload, capture: false, commandPipe: false)
            do {
                let outcome = try await StepProcess.run(launch, group: core.group, started: work.stepStarted,
                                                        onCommand: { _ in }, onStderr: { _ in })
                work.stepEnded()
                if outcome.status.code != 0 {
                    exitCode = outcome.status.code
                    break
                }
            } catch {
                core.logger.warning("Handler of \(label) skipped step \(step.name): \(error.reason)")
            }
        }
        if core.terminating.hasFired { return }  // SIGTERM: no completion lines
        let status = exitCode == 0 ? "completed" : "aborted"
        let line = "Handler of \(label) exited with status \"\(status)\" (\(exitCode)) at step \(lastStep)"
        if exitCode == 0 { core.logger.info("\(line)") } else { core.logger.warning("\(line)") }
    }
}

import Logging
import NIOCore
import RESP
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// Recovery, then `BRPOP` until stopped; each task runs concurrently.
    func popLoop() async {
        var failures = 0
        var lastError = ""
        var recovered = false
        let backoff = RedisBackoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !core.terminating.hasFired {
            if core.stopping.hasFired, core.tasks.count == 0 || queue.isInterrupted {
                await core.tasks.waitUntilEmpty()
                await core.uncounted.waitUntilEmpty()
                return
            }
            do throws(RedisClientError) {
                if !recovered {
                    let ids = try await Recovery.run(core: core)
                    if !ids.isEmpty { core.logger.notice("Recovered \(ids.count) interrupted task(s) of \(core.agentID)") }
                    recovered = true
                }
                let item = try await popOnce()
                failures = 0
                lastError = ""
                if let item { await accept(item) }
            } catch {
                if core.terminating.hasFired || (core.stopping.hasFired && queue.isInterrupted) { continue }
                failures += 1
                let text = "\(error)"
                if text != lastError {
                    core.logger.error("Task queue pop error: \(text)")
                    lastError = text
                }
                await core.stopping.sleep(for: .nanoseconds(backoff.delay(afterFailures: failures).nanoseconds))
            }
        }
    }

    private func popOnce() async throws(RedisClientError) -> String? {
        try await queue.pop(timeout: core.configuration.pollingInterval, onSent: { [self] in markReady(popped: true) })
    }

    /// A popped item: decode, check the load, start it.
    private func accept(_ item: String) async {
        let task: AgentTask
        do { task = try AgentTask.decode(item) } catch {
            core.logger.error("Task ignored for decoding error: \(error.reason)")
            return
        }
        let builtin = Builtins.names.contains(task.action)
        let work = RunningWork(id: task.id, action: task.action, context: task.envelope.maskingSecrets.serialized)
        if !builtin, core.tasks.count >= core.configuration.maxConcurrency {
            try? await Task.sleep(for: core.configuration.overloadSleep)
            if core.tasks.count >= core.configuration.maxConcurrency {
                core.uncounted.insert(work)
                Task {
                    await reject(task, work)
                    core.uncounted.remove(work)
                }
                return
            }
        }
        if core.terminating.hasFired {
            core.uncounted.insert(work)
            Task {
                await reject(task, work, terminating: true)
                core.uncounted.remove(work)
            }
            return
        }
        if builtin { core.uncounted.insert(work) } else { core.tasks.insert(work) }
        updateStatus()
        Task {
            if builtin {
                await Builtins.run(task, core: core, work: work)
                core.uncounted.remove(work)
            } else {
                await TaskRunner(core: core, task: task, work: work).run()
                let left = core.tasks.remove(work)
                if left == 0, core.stopping.hasFired { await interruptPopIfIdle() }
            }
            updateStatus()
        }
    }

    /// At the limit: the busy result (11), or, while terminating, the interrupted one (12).
    private func reject(_ task: AgentTask, _ work: RunningWork, terminating: Bool = false) async {
        let publisher = TaskPublisher(redis: core.redis, agentID: core.agentID, taskID: task.id, ttl: core.configuration.runningTTL)
        let context = task.envelope.maskingSecrets.serialized
        publisher.enqueue(.setContext(context))
        publisher.enqueue(.publish(ActionProgress(steps: []).message))
        let pending = await publisher.finish()
        let message = terminating ? "Task aborted: agent \(core.agentID) is stopping\n" : "Agent is busy. Action \(task.action) rejected!\n"
        var result = TaskResult(taskID: task.id, action: task.action, status: .aborted, progress: 0, output: ByteBuffer(),
                                error: ByteBuffer(string: message), exitCode: terminating ? 12 : 11,
                                unwrittenContext: publisher.contextStored ? nil : context, lastStep: "{unknown}", context: context)
        result.pendingWrites = pending
        await core.finish(work, result)
    }

    /// SIGUSR1 with nothing running: end the pop in flight (safely) so the agent can exit.
    func interruptPopIfIdle() async {
        if core.stopping.hasFired, core.tasks.count == 0 { await queue.interrupt() }
    }

    /// SIGTERM: TERM to every step's process group, aborted results (12) for running tasks within the second.
    func terminate() async {
        core.terminating.fire()
        core.stopping.fire()
        await queue.interrupt()
        let running = core.tasks.all + core.uncounted.all
        for work in running + core.handlers.all { work.cancel() }
        let deadline = Wakeup()
        let timer = Task { try? await Task.sleep(for: .milliseconds(800)); deadline.fire() }
        await withTaskGroup(of: Void.self) { group in
            for work in running where work.claimResult() {
                group.addTask { [core] in
                    await work.stopPublishing(within: .milliseconds(300))
                    let result = TaskResult(
                        taskID: work.id, action: work.action, status: .aborted, progress: work.progress, output: ByteBuffer(),
                        error: ByteBuffer(string: "Task aborted: agent \(core.agentID) was stopped (SIGTERM)\n"),
                        exitCode: 12, unwrittenContext: nil, lastStep: "{unknown}", context: work.context)
                    if await core.writer.write(result, giveUp: deadline, reportFailures: false) {
                        core.logOutcome(result)
                    } else {
                        core.logger.error("task/\(core.agentID)/\(work.id): result not written before exit; the next start writes it (12)")
                    }
                }
            }
        }
        timer.cancel()
    }
}

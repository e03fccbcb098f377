import Logging
import NIOCore
import RESP

/// What every part of a running agent shares: configuration, the leader
/// client, the catalogs, the work in flight and the stop signals.
final class AgentCore: Sendable {
    let configuration: AgentConfiguration
    let group: any EventLoopGroup
    let redis: RedisClient
    let logger: Logger
    let actions: ActionCatalog
    let events: ActionCatalog
    let tasks = RunningSet()
    /// Builtins and rejections: not counted against MAX_CONCURRENCY, still waited for and finished.
    let uncounted = RunningSet()
    let handlers = RunningSet()
    let writer: ResultWriter
    /// The environment every step starts from: the agent's own, minus systemd's notification variables.
    let stepEnvironment: ProcessEnvironment
    /// Fired by SIGTERM: no more waiting, results written on the running tasks' behalf.
    let terminating = Wakeup()
    /// Fired by SIGUSR1 (and SIGTERM): stop taking tasks once none is running.
    let stopping = Wakeup()

    init(configuration: AgentConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        redis = RedisClient(endpoint: configuration.leader, group: group, poolSize: 2, logger: logger)
        actions = ActionCatalog(directories: configuration.actionsDirectories)
        events = ActionCatalog(directories: configuration.eventsDirectories)
        writer = ResultWriter(redis: redis, agentID: configuration.agentID, resultTTL: configuration.resultTTL, logger: logger)
        var environment = ProcessEnvironment()
        let hidden: Set<String> = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"]
        for key in configuration.environment.keys.sorted() where !hidden.contains(key) {
            environment[key] = configuration.environment[key]
        }
        stepEnvironment = environment
    }

    var agentID: String { configuration.agentID }

    /// The log line after each action (AGENT-PROTOCOL.md).
    func logOutcome(_ result: TaskResult) {
        let line = "task/\(agentID)/\(result.taskID): action \"\(result.action)\" status is \"\(result.status.rawValue)\" (\(result.exitCode)) at step \(result.lastStep)"
        if result.status == .completed { logger.info("\(line)") } else { logger.warning("\(line)") }
    }

    /// Writes `result` unless the SIGTERM path already wrote one for this task, then logs it.
    func finish(_ work: RunningWork, _ result: TaskResult) async {
        guard work.claimResult() else { return }
        await writer.write(result, giveUp: terminating)
        logOutcome(result)
    }
}

import Agents
import ArgumentParser
import FoundationEssentials
import Logging
import Net
import NIOPosix

/// `nscore agent`: the node/module agent daemon (AGENT-PROTOCOL.md).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node or module agent: tasks from <agent id>/tasks, handlers for */event/*.",
        discussion: """
            Pops tasks with BRPOP from <agent id>/tasks on the leader (REDIS_ADDRESS, default \
            127.0.0.1:6379, as REDIS_USER — default the agent id — with REDIS_PASSWORD; no password, \
            no AUTH) and runs the action's steps from the --actionsdir directories (later wins for a \
            file name). Subscribes to */event/* on REDIS_REPLICA_ADDRESS (default REDIS_ADDRESS) and \
            runs handlers from the --eventsdir directories. The working directory is the agent's \
            state directory: steps read and write ./environment.

            Environment: AGENT_POLLING_INTERVAL (5s; 75ms, 1m…), MAX_CONCURRENCY (32), \
            OVERLOAD_SLEEP (500ms), AGENT_INSTALL_DIR (validator-definitions.json), LOG_LEVEL.

            Signals: SIGUSR1 stops gracefully (running tasks and handlers finish, exit 0); SIGTERM \
            stops within a second (running tasks get an aborted result, exit code 12) and the \
            process dies by SIGTERM. Under systemd (Type=notify) it reports READY, STATUS and \
            watchdog pings.

            Example: nscore agent --agentid=module/mail1 --actionsdir=$HOME/.config/actions \\
                       --eventsdir=$HOME/.config/events
            """)

    @Option(name: .customLong("agentid"), help: ArgumentHelp("The agent id: node/N, module/ID or cluster.", valueName: "id"))
    var agentID: String

    @Option(name: .customLong("actionsdir"), help: ArgumentHelp("A directory of actions (repeatable, later wins).", valueName: "dir"))
    var actionsDirectories: [String] = []

    @Option(name: .customLong("eventsdir"), help: ArgumentHelp("A directory of event handlers (repeatable, later wins).", valueName: "dir"))
    var eventsDirectories: [String] = []

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical (default: $LOG_LEVEL or info).",
                               valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if actionsDirectories.isEmpty { throw ValidationError("give at least one --actionsdir") }
        if let level = logLevel ?? environmentValue("LOG_LEVEL"), LogSetup.parseLevel(level) == nil {
            throw ValidationError("unknown log level '\(level)': use trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration(agentID: agentID, actionsDirectories: actionsDirectories,
                                                   eventsDirectories: eventsDirectories,
                                                   environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        LogSetup.bootstrap(level: LogSetup.parseLevel(logLevel ?? environmentValue("LOG_LEVEL") ?? "info") ?? .info)
        // The protocol's log lines are exact: no label in front of them.
        let agent = Agent(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: ""))
        switch await agent.run() {
        case .finished:
            return
        case .terminated(let signal):
            Net.dieBySignal(signal)
        }
    }
}

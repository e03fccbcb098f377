public import Logging
public import NIOCore
import Net
import RESP
import Synchronization
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// The agent daemon (AGENT-PROTOCOL.md): pops tasks from
/// `<agent id>/tasks` and runs their actions, runs event handlers for
/// `*/event/*`, stops gracefully on SIGUSR1 and within a second on SIGTERM.
public final class Agent: Sendable {
    /// How the agent stopped.
    public enum Exit: Sendable, Equatable {
        /// SIGUSR1: everything finished; exit status 0.
        case finished
        /// SIGTERM or SIGINT: results of running tasks written (12); the caller re-raises the signal.
        case terminated(Int32)
    }

    let core: AgentCore
    let queue: TaskQueue
    let replica: RedisClient
    private let ready = Mutex<(popped: Bool, subscribed: Bool, notified: Bool)>((false, false, false))
    let subscription = Mutex<RedisSubscription?>(nil)

    /// Creates an agent; nothing connects until ``run()``.
    public init(configuration: AgentConfiguration, group: any EventLoopGroup, logger: Logger) {
        core = AgentCore(configuration: configuration, group: group, logger: logger)
        queue = TaskQueue(endpoint: configuration.leader, key: configuration.queueKey, group: group)
        replica = RedisClient(endpoint: configuration.replica, group: group, poolSize: 1, logger: logger)
    }

    /// Runs until a signal stops the agent.
    public func run() async -> Exit {
        Self.prepareProcess()
        let c = core.configuration
        core.logger.info("Agent \(c.agentID) starting: actions from \(c.actionsDirectories), events from \(c.eventsDirectories), leader \(c.leader), replica \(c.replica.address), polling every \(c.pollingInterval)")
        let signals = await UnixSignalsSequence(trapping: .sigusr1, .sigterm, .sigint)
        let exit = Mutex<Exit>(.finished)
        let signalTask = Task {
            for await signal in signals {
                if signal == .sigusr1 {
                    core.logger.warning("Signal \"user defined signal 1\" caught: shutdown started.")
                    SystemdNotifier.stopping(status: "finishing running tasks")
                    core.stopping.fire()
                    await interruptPopIfIdle()
                    continue
                }
                let number: Int32 = signal == .sigint ? SIGINT : SIGTERM
                core.logger.warning("Signal \(number == SIGINT ? "\"interrupt\"" : "\"terminated\"") caught: stopping now.")
                SystemdNotifier.stopping(status: "terminating")
                await terminate()
                exit.withLock { $0 = .terminated(number) }
                return
            }
        }
        let events = Task { await listenForEvents() }
        let watchdog = Task { await SystemdWatchdog.run() }
        await popLoop()
        if core.terminating.hasFired {
            await signalTask.value
        } else {
            // SIGUSR1: events published just before still arrive; then wait for the handlers.
            try? await Task.sleep(for: .milliseconds(250))
            await subscription.withLock { $0 }?.close()
            await events.value
            await core.handlers.waitUntilEmpty()
            signalTask.cancel()
            core.logger.notice("Agent \(c.agentID) stopped: no task or event handler running")
        }
        events.cancel()
        watchdog.cancel()
        await subscription.withLock { $0 }?.close()
        await core.redis.close()
        await replica.close()
        return exit.withLock { $0 }
    }

    /// Keeps descriptors 0–2 open (pipes must never land there), ignores
    /// SIGPIPE (a step closing its stdin early), raises the descriptor limit.
    private static func prepareProcess() {
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) < 0 {
            _ = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
        }
        signal(SIGPIPE, SIG_IGN)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = min(limit.rlim_max, 65536)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    // MARK: readiness and status

    func markReady(popped: Bool = false, subscribed: Bool = false) {
        let now = ready.withLock { s -> Bool in
            if popped { s.popped = true }
            if subscribed { s.subscribed = true }
            guard s.popped && s.subscribed && !s.notified else { return false }
            s.notified = true
            return true
        }
        if now { SystemdNotifier.ready(status: statusLine()) }
    }

    func statusLine() -> String {
        let t = core.tasks.count, h = core.handlers.count
        return "\(t) task\(t == 1 ? "" : "s") and \(h) event handler\(h == 1 ? "" : "s") running"
    }

    func updateStatus() {
        if ready.withLock({ $0.notified }) { SystemdNotifier.status(statusLine()) }
    }
}

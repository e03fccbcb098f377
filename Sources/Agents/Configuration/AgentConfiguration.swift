public import RESP

/// Everything an agent needs to run, from its command line and the
/// environment (AGENT-PROTOCOL.md, "Command line and environment").
public struct AgentConfiguration: Sendable {
    /// `node/1`, `module/mail1`, `cluster`.
    public var agentID: String
    /// `--actionsdir` / `--eventsdir`, in order (later wins for a file name).
    public var actionsDirectories: [String]
    public var eventsDirectories: [String]
    /// `AGENT_POLLING_INTERVAL`: BRPOP timeout and heartbeat period.
    public var pollingInterval: Duration
    /// `MAX_CONCURRENCY`: running tasks, and separately running event handlers.
    public var maxConcurrency: Int
    /// `OVERLOAD_SLEEP`: wait before rejecting work at the limit.
    public var overloadSleep: Duration
    /// `AGENT_INSTALL_DIR`: where `validator-definitions.json` lives.
    public var installDirectory: String?
    /// The leader (tasks, results, publish) with the agent's credentials.
    public var leader: RedisEndpoint
    /// The local replica (event subscription), as the `default` user.
    public var replica: RedisEndpoint
    /// The environment steps start from (the agent's own).
    public var environment: [String: String]
    /// Seconds the context lives while a task runs, and results after it (60 and 28800).
    public var runningTTL = 60
    public var resultTTL = 28800

    /// Reads the variables of `environment` (the process environment, usually).
    /// - Throws: ``AgentConfigurationError`` naming the variable that cannot be used.
    public init(agentID: String, actionsDirectories: [String], eventsDirectories: [String],
                environment: [String: String]) throws(AgentConfigurationError) {
        guard !agentID.isEmpty, !agentID.contains(" ") else { throw .badAgentID(agentID) }
        self.agentID = agentID
        self.actionsDirectories = actionsDirectories
        self.eventsDirectories = eventsDirectories
        self.environment = environment
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func duration(_ name: String, _ fallback: Duration) throws(AgentConfigurationError) -> Duration {
            guard let text = value(name) else { return fallback }
            guard let d = GoDuration.parse(text), d > .zero else { throw .badValue(name, text, "a duration like 75ms, 5s or 1m") }
            return d
        }
        pollingInterval = try duration("AGENT_POLLING_INTERVAL", .seconds(5))
        overloadSleep = try duration("OVERLOAD_SLEEP", .milliseconds(500))
        if let text = value("MAX_CONCURRENCY") {
            guard let n = Int(text), n >= 1 else { throw .badValue("MAX_CONCURRENCY", text, "a whole number of at least 1") }
            maxConcurrency = n
        } else {
            maxConcurrency = 32
        }
        installDirectory = value("AGENT_INSTALL_DIR")
        let leaderText = value("REDIS_ADDRESS") ?? "127.0.0.1:6379"
        let replicaText = value("REDIS_REPLICA_ADDRESS") ?? leaderText
        var auth = RedisConnectionConfiguration(clientName: agentID)
        if let password = value("REDIS_PASSWORD") {
            auth.username = value("REDIS_USER") ?? agentID
            auth.password = password
        }
        do { leader = try RedisEndpoint(parsing: leaderText, configuration: auth) } catch {
            throw .badValue("REDIS_ADDRESS", leaderText, "HOST:PORT")
        }
        do { replica = try RedisEndpoint(parsing: replicaText, configuration: RedisConnectionConfiguration(clientName: agentID)) } catch {
            throw .badValue("REDIS_REPLICA_ADDRESS", replicaText, "HOST:PORT")
        }
    }

    /// The queue key, `<agent id>/tasks`.
    public var queueKey: String { agentID + "/tasks" }
}

/// A command line or environment value the agent cannot use.
public enum AgentConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case badAgentID(String)
    case badValue(String, String, String)

    public var description: String {
        switch self {
        case .badAgentID(let id): "--agentid \"\(id)\" is not an agent id (e.g. node/1, module/mail1, cluster)"
        case .badValue(let name, let value, let expected): "\(name)=\(value) cannot be used: expected \(expected)"
        }
    }
}

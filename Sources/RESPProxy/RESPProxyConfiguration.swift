public import Net
public import NIOCore
public import RESP

/// Settings of `nscore resp-proxy`.
public struct RESPProxyConfiguration: Sendable {
    /// Where clients connect (loopback by default), the client limit and idle timeout.
    public var listener: ListenerConfiguration
    /// The local replica: public reads and subscriptions, as `default`.
    public var replica: Endpoint
    /// The leader at start (later changed by `leader-changed` or SIGHUP).
    public var leader: Endpoint
    /// Send a session's public reads to the leader for `readYourWritesWindow` after it wrote.
    public var readYourWrites: Bool
    public var readYourWritesWindow: TimeAmount
    /// Requests in flight per client before the proxy stops reading from it.
    public var maxPipelineDepth: Int
    /// Client request limits (`maxRequestBytes` is `--max-request-size`).
    public var requestLimits: RESPRequestLimits
    /// Databases a client may `SELECT` (Redis's `databases`, 16).
    public var databases: Int
    /// Connect timeout for upstream links.
    public var connectTimeout: TimeAmount
    /// How long the replica counts as down after a failed connect (reads go to the leader meanwhile).
    public var replicaRetry: TimeAmount
    /// Delay of a refused AUTH (against password guessing).
    public var authFailureDelay: TimeAmount
    /// Spare dedicated links kept per key and loop, for transactions and blocking commands.
    public var maxSpareLinks: Int
    /// Public key patterns (the `default` user's read access).
    public var router: RedisRouter
    /// Graceful shutdown: how long open clients may finish.
    public var drainTimeout: Duration

    /// Creates a configuration with the defaults (read-your-writes on, 1 s; 64 MiB requests).
    public init(listener: ListenerConfiguration, replica: Endpoint, leader: Endpoint,
                readYourWrites: Bool = true, readYourWritesWindow: TimeAmount = .seconds(1),
                maxPipelineDepth: Int = 1024, requestLimits: RESPRequestLimits = .init(), databases: Int = 16,
                connectTimeout: TimeAmount = .seconds(3), replicaRetry: TimeAmount = .seconds(1),
                authFailureDelay: TimeAmount = .milliseconds(100), maxSpareLinks: Int = 4,
                router: RedisRouter = .init(), drainTimeout: Duration = .seconds(10)) {
        self.listener = listener
        self.replica = replica
        self.leader = leader
        self.readYourWrites = readYourWrites
        self.readYourWritesWindow = readYourWritesWindow
        self.maxPipelineDepth = maxPipelineDepth
        self.requestLimits = requestLimits
        self.databases = databases
        self.connectTimeout = connectTimeout
        self.replicaRetry = replicaRetry
        self.authFailureDelay = authFailureDelay
        self.maxSpareLinks = maxSpareLinks
        self.router = router
        self.drainTimeout = drainTimeout
    }
}

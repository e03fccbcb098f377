public import Logging
public import NIOCore

/// The platform's auth-vs-read-only client: each command goes to the
/// read-only endpoint (`default` user, usually the local replica) or to the
/// privileged one (the agent's ACL user at the leader), as ``RedisRouter``
/// decides. Without privileged credentials a command that needs them fails
/// at once with ``RedisClientError/missingCredentials(_:)``, no round trip.
public final class RedisRoutingClient: RedisBlockingCommandSending {
    /// The `default`-user client (reads of public keys, subscriptions).
    public let readOnly: RedisClient
    /// The authenticated client, nil without credentials.
    public let privileged: RedisClient?
    /// The routing decision.
    public let router: RedisRouter

    /// Creates the two clients; nothing connects until the first command.
    public init(settings: RedisSettings, group: any EventLoopGroup, router: RedisRouter = .init(),
                poolSize: Int = 2, logger: Logger = Logger(label: "nscore.redis")) {
        readOnly = RedisClient(endpoint: settings.readOnly, group: group, poolSize: poolSize, logger: logger)
        privileged = settings.privileged.map { RedisClient(endpoint: $0, group: group, poolSize: poolSize, logger: logger) }
        self.router = router
    }

    /// The client for a route, or the missing-credentials error.
    public func client(for route: RedisRoute, command: String) throws(RedisClientError) -> RedisClient {
        switch route {
        case .readOnly: return readOnly
        case .privileged:
            guard let privileged else {
                throw .missingCredentials("\(command.uppercased()) needs the leader with an ACL user; set REDIS_USER and REDIS_PASSWORD")
            }
            return privileged
        }
    }

    private func client<Argument: RedisEncodable>(for arguments: [Argument]) throws(RedisClientError) -> RedisClient {
        try client(for: router.route(arguments).route, command: arguments.first?.lowercasedName ?? "")
    }

    /// Routes and runs one command (a blocking one is diverted by ``RedisClient``
    /// to a leased connection with its own timeout plus the margin).
    public func send<Argument: RedisEncodable>(_ arguments: [Argument], timeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        try await client(for: arguments).send(arguments, timeout: timeout)
    }

    /// A batch goes to one side so that it stays in order and in one write:
    /// the privileged one if any command needs it.
    public func pipeline<Argument: RedisEncodable>(_ commands: [[Argument]], timeout: TimeAmount?) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>] {
        let needy = commands.first { router.route($0).route == .privileged }
        let target = try needy.map { c throws(RedisClientError) in try client(for: c) } ?? readOnly
        return try await target.pipeline(commands, timeout: timeout)
    }

    public func blocking<Argument: RedisEncodable>(_ arguments: [Argument], serverTimeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        try await client(for: .privileged, command: arguments.first?.lowercasedName ?? "").blocking(arguments, serverTimeout: serverTimeout)
    }

    /// Subscribes on the read-only endpoint (the replica receives every PUBLISH).
    public func subscribe(channels: [String] = [], patterns: [String] = []) async throws(RedisClientError) -> RedisSubscription {
        try await readOnly.subscribe(channels: channels, patterns: patterns)
    }

    /// Closes both clients.
    public func close() async {
        await readOnly.close()
        await privileged?.close()
    }
}

public import Logging
public import NIOCore
import Synchronization

/// A Redis client for concurrent callers: a small pool of pipelined
/// connections, each reconnecting with backoff; a command issued while
/// disconnected waits (up to its timeout) for the connection to come back.
///
/// Blocking commands and transactions never share a pooled connection:
/// ``blocking(_:serverTimeout:)`` and ``withExclusiveConnection(timeout:_:)``
/// lease a connection of their own. Pub/sub has ``subscribe(channels:patterns:)``.
public final class RedisClient: RedisCommandSending {
    /// The server and login.
    public let endpoint: RedisEndpoint
    private let group: any EventLoopGroup
    private let backoff: RedisBackoff
    private let logger: Logger
    private let slots: [RedisConnectionSlot]
    private let next = Atomic<Int>(0)
    private let idle = Mutex<(connections: [RedisConnection], closed: Bool)>(([], false))
    private let maxIdleExclusive: Int

    /// Creates a client; nothing connects until the first command.
    /// - Parameters:
    ///   - poolSize: pipelined connections shared by all callers (≥ 1).
    ///   - maxIdleExclusive: leased connections kept open for reuse once returned.
    public init(endpoint: RedisEndpoint, group: any EventLoopGroup, poolSize: Int = 2,
                backoff: RedisBackoff = .init(), maxIdleExclusive: Int = 4,
                logger: Logger = Logger(label: "nscore.redis")) {
        self.endpoint = endpoint
        self.group = group
        self.backoff = backoff
        self.logger = logger
        self.maxIdleExclusive = maxIdleExclusive
        slots = (0..<max(1, poolSize)).map { _ in
            RedisConnectionSlot(endpoint: endpoint, group: group, backoff: backoff, logger: logger)
        }
    }

    private func deadline(_ timeout: TimeAmount?) -> NIODeadline {
        .now() + (timeout ?? endpoint.configuration.commandTimeout)
    }

    private func pooled(deadline: NIODeadline) async throws(RedisClientError) -> RedisConnection {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await slots[index % slots.count].connection(deadline: deadline)
    }

    /// Runs one command on the pool; a blocking command (`BRPOP`, `XREAD
    /// BLOCK`…) is diverted to ``blocking(_:serverTimeout:)`` so that it
    /// never stalls a shared connection.
    public func send<Argument: RedisEncodable>(_ arguments: [Argument], timeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        if let first = arguments.first?.bytes.first, first | 0x20 == UInt8(ascii: "b") || first | 0x20 == UInt8(ascii: "x"),
           let info = RedisCommandTable.info(for: arguments), info.isBlocking {
            return try await blocking(arguments, serverTimeout: info.blockingTimeout(in: arguments))
        }
        let deadline = deadline(timeout)
        let connection = try await pooled(deadline: deadline)
        return try await RedisConnection.reply(connection.submit([arguments], deadline: deadline, closeOnTimeout: false)[0])
    }

    public func pipeline<Argument: RedisEncodable>(_ commands: [[Argument]], timeout: TimeAmount?) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>] {
        let deadline = deadline(timeout)
        let connection = try await pooled(deadline: deadline)
        let remaining = deadline - .now()
        return try await connection.pipeline(commands, timeout: remaining)
    }

    /// Runs a blocking command (`BRPOP`, `BLMOVE`…) on a leased connection;
    /// see ``RedisConnection/blockingCommand(_:serverTimeout:)`` for the timeout rule.
    public func blocking<Argument: RedisEncodable>(_ arguments: [Argument], serverTimeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        try await withExclusiveConnection { connection throws(RedisClientError) in
            try await connection.blockingCommand(arguments, serverTimeout: serverTimeout)
        }
    }

    /// Leases a connection nobody else uses during `body` (WATCH/MULTI/EXEC,
    /// blocking commands, CLIENT settings). It is reused afterwards if it
    /// is still healthy, closed otherwise.
    public func withExclusiveConnection<T>(timeout: TimeAmount? = nil,
                                           _ body: (RedisConnection) async throws(RedisClientError) -> T) async throws(RedisClientError) -> T {
        let connection = try await lease(deadline: deadline(timeout))
        do {
            let result = try await body(connection)
            await giveBack(connection)
            return result
        } catch {
            if case .server = error { await giveBack(connection) } else { await connection.close() }
            throw error
        }
    }

    private func lease(deadline: NIODeadline) async throws(RedisClientError) -> RedisConnection {
        while let reused = idle.withLock({ $0.connections.popLast() }) {
            if reused.isActive { return reused }
        }
        if idle.withLock({ $0.closed }) { throw .clientClosed }
        // A private slot gives the exclusive connection the same retry and deadline rules.
        let slot = RedisConnectionSlot(endpoint: endpoint, group: group, backoff: backoff, logger: logger, shared: false)
        return try await slot.connection(deadline: deadline)
    }

    private func giveBack(_ connection: RedisConnection) async {
        let keep = idle.withLock { s -> Bool in
            guard !s.closed, connection.isActive, s.connections.count < maxIdleExclusive else { return false }
            s.connections.append(connection)
            return true
        }
        if !keep { await connection.close() }
    }

    /// Subscribes on a dedicated connection; see ``RedisSubscription``.
    public func subscribe(channels: [String] = [], patterns: [String] = []) async throws(RedisClientError) -> RedisSubscription {
        try await RedisSubscription.open(endpoint: endpoint, group: group, backoff: backoff, logger: logger,
                                         channels: channels, patterns: patterns)
    }

    /// Closes every connection; waiting and later commands fail with `.clientClosed`.
    public func close() async {
        for slot in slots { await slot.close() }
        let leased = idle.withLock { s -> [RedisConnection] in
            s.closed = true
            defer { s.connections.removeAll() }
            return s.connections
        }
        for c in leased { await c.close() }
    }
}

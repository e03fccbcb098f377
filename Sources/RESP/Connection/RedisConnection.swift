public import NIOCore
import NIOPosix

/// Handshake settings of a connection.
public struct RedisConnectionConfiguration: Sendable {
    /// ACL user and password; nil for the `default` user without AUTH.
    public var username: String?
    public var password: String?
    /// `CLIENT SETNAME` value, e.g. the agent id.
    public var clientName: String?
    /// Database to `SELECT` (0 = none sent).
    public var database: Int
    /// Limits for replies.
    public var limits: RESPLimits
    /// How long a command may wait for its reply (or, through a client, for a connection).
    public var commandTimeout: TimeAmount
    /// Added to a blocking command's own timeout before we give up on it.
    public var blockingMargin: TimeAmount
    /// How long the TCP connect may take.
    public var connectTimeout: TimeAmount

    /// Creates a configuration.
    public init(username: String? = nil, password: String? = nil, clientName: String? = nil,
                database: Int = 0, limits: RESPLimits = .init(),
                commandTimeout: TimeAmount = .seconds(10), blockingMargin: TimeAmount = .seconds(2),
                connectTimeout: TimeAmount = .seconds(5)) {
        self.username = username
        self.password = password
        self.clientName = clientName
        self.database = database
        self.limits = limits
        self.commandTimeout = commandTimeout
        self.blockingMargin = blockingMargin
        self.connectTimeout = connectTimeout
    }
}

/// One Redis connection with pipelining: many commands in flight, replies
/// matched in order. Safe to use from any task.
public final class RedisConnection: Sendable {
    /// The underlying channel.
    public let channel: any Channel
    /// 3 after a successful `HELLO 3`, 2 when the server only speaks RESP2.
    public let protocolVersion: Int
    /// The settings the connection was made with.
    public let configuration: RedisConnectionConfiguration

    private init(channel: any Channel, protocolVersion: Int, configuration: RedisConnectionConfiguration) {
        self.channel = channel
        self.protocolVersion = protocolVersion
        self.configuration = configuration
    }

    /// False once the connection has closed (for any reason).
    public var isActive: Bool { channel.isActive }

    /// Completes when the connection has closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Connects, then runs the handshake: `HELLO 3 [AUTH u p]` and `CLIENT
    /// SETNAME n` in one write, falling back to RESP2 `AUTH` + `CLIENT
    /// SETNAME` on servers without HELLO; then `SELECT` when a database is set.
    /// - Throws: ``RedisClientError`` (`.server("WRONGPASS …")` for bad credentials).
    ///
    /// `onPush` receives push messages (see ``RedisChannelHandler``) on the
    /// connection's event loop; `isPush` picks them out.
    public static func connect(
        host: String, port: Int, configuration: RedisConnectionConfiguration = .init(),
        group: any EventLoopGroup,
        onPush: (@Sendable (RESPToken) -> Void)? = nil,
        isPush: @escaping @Sendable (RESPToken) -> Bool = { $0.isPush }
    ) async throws(RedisClientError) -> RedisConnection {
        let limits = configuration.limits
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(configuration.connectTimeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(limits: limits, onPush: onPush, isPush: isPush))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw .connectFailed("\(host):\(port): \(error)")
        }
        var probe = RedisConnection(channel: channel, protocolVersion: 3, configuration: configuration)
        do throws(RedisClientError) {
            // Lower-case names, and the name set by its own `client setname`
            // (pipelined with `hello`: one round trip), as the platform's
            // tooling expects to see them in MONITOR.
            var hello = ["hello", "3"]
            if let password = configuration.password {
                hello += ["auth", configuration.username ?? "default", password]
            }
            var handshake = [hello]
            if let name = configuration.clientName { handshake.append(["client", "setname", name]) }
            let replies = try await probe.pipeline(handshake)
            switch replies[0] {
            case .success:
                if replies.count > 1 { _ = try replies[1].get() }
            case .failure(.server(let message)) where message.hasPrefix("ERR unknown command") || message.hasPrefix("NOPROTO"):
                probe = RedisConnection(channel: channel, protocolVersion: 2, configuration: configuration)
                if let password = configuration.password {
                    _ = try await probe.command(configuration.username.map { ["auth", $0, password] } ?? ["auth", password])
                }
                if let name = configuration.clientName { _ = try await probe.command(["client", "setname", name]) }
            case .failure(let error):
                throw error
            }
            if configuration.database != 0 { _ = try await probe.command(["select", String(configuration.database)]) }
        } catch {
            try? await channel.close()
            throw error
        }
        return probe
    }

    /// Sends one command and waits for its reply (at most `timeout`,
    /// the configuration's `commandTimeout` by default).
    /// - Throws: ``RedisClientError/server(_:)`` for an error reply, `.timeout`, or a connection error.
    public func command<Argument: RedisEncodable>(_ arguments: [Argument], timeout: TimeAmount? = nil) async throws(RedisClientError) -> RESPToken {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        return try await Self.reply(submit([arguments], deadline: deadline, closeOnTimeout: false)[0])
    }

    /// Sends a blocking command (`BRPOP`, `BLMOVE`, `XREAD BLOCK`…) whose own
    /// timeout is `serverTimeout` (nil: it blocks forever). We wait that long
    /// plus the configuration's `blockingMargin`; past that the connection is
    /// closed, because the server would keep the pop armed and a later item
    /// would be popped for nobody.
    public func blockingCommand<Argument: RedisEncodable>(_ arguments: [Argument], serverTimeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        let deadline = serverTimeout.map { NIODeadline.now() + $0 + configuration.blockingMargin } ?? .distantFuture
        return try await Self.reply(submit([arguments], deadline: deadline, closeOnTimeout: true)[0])
    }

    /// Sends a batch in one write; replies come back in order, each a
    /// token or that command's own error. The whole batch shares one
    /// deadline and one promise (no allocation per command).
    public func pipeline<Argument: RedisEncodable>(_ commands: [[Argument]], timeout: TimeAmount? = nil) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>] {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        var bytes = channel.allocator.buffer(capacity: commands.count * 32)
        for command in commands { Argument.encode(command, into: &bytes) }
        let promise = channel.eventLoop.makePromise(of: RedisBatchReplies.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(RedisRequest(bytes: bytes, count: commands.count, promise: promise, deadline: deadline),
                              promise: written)
        written.futureResult.whenFailure { _ in
            promise.succeed(RedisBatchReplies(tokens: [], error: .connectionClosed))
        }
        let replies: RedisBatchReplies
        do { replies = try await promise.futureResult.get() } catch { throw .connectionClosed }
        var results: [Result<RESPToken, RedisClientError>] = []
        results.reserveCapacity(commands.count)
        for token in replies.tokens {
            if let message = token.errorMessage { results.append(.failure(.server(message))) } else { results.append(.success(token)) }
        }
        let cut = replies.error ?? .connectionClosed
        while results.count < commands.count { results.append(.failure(cut)) }
        return results
    }

    /// Encodes and writes commands; one future per reply.
    func submit<Argument: RedisEncodable>(_ commands: [[Argument]], deadline: NIODeadline, closeOnTimeout: Bool) -> [EventLoopFuture<RESPToken>] {
        var bytes = channel.allocator.buffer(capacity: commands.count * 32)
        var promises: [EventLoopPromise<RESPToken>] = []
        promises.reserveCapacity(commands.count)
        for command in commands {
            Argument.encode(command, into: &bytes)
            promises.append(channel.eventLoop.makePromise(of: RESPToken.self))
        }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(RedisRequest(bytes: bytes, promises: promises, deadline: deadline,
                                           closeOnTimeout: closeOnTimeout), promise: written)
        written.futureResult.whenFailure { [promises] _ in
            for p in promises { p.fail(RedisClientError.connectionClosed) }
        }
        return promises.map(\.futureResult)
    }

    /// The token of a reply, or its error.
    static func reply(_ future: EventLoopFuture<RESPToken>) async throws(RedisClientError) -> RESPToken {
        let token: RESPToken
        do {
            token = try await future.get()
        } catch let error as RedisClientError {
            throw error
        } catch {
            throw .connectionClosed
        }
        if let message = token.errorMessage { throw .server(message) }
        return token
    }

    /// Half-closes: the server sees the end of our input and closes, while
    /// replies it already sent are still read. This ends a blocking pop
    /// safely: either the pop's item arrives, or the server dropped the
    /// client before popping anything; nothing is popped for nobody.
    public func finishWriting() async {
        try? await channel.close(mode: .output)
    }

    /// Closes the connection; pending commands fail with `.connectionClosed`.
    public func close() async {
        try? await channel.close()
    }
}

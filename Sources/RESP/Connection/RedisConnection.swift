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

    /// Creates a configuration.
    public init(username: String? = nil, password: String? = nil, clientName: String? = nil,
                database: Int = 0, limits: RESPLimits = .init()) {
        self.username = username
        self.password = password
        self.clientName = clientName
        self.database = database
        self.limits = limits
    }
}

/// One Redis connection with pipelining: many commands in flight, replies
/// matched in order. Safe to use from any task.
public final class RedisConnection: Sendable {
    /// The underlying channel.
    public let channel: any Channel
    /// 3 after a successful `HELLO 3`, 2 when the server only speaks RESP2.
    public let protocolVersion: Int

    private init(channel: any Channel, protocolVersion: Int) {
        self.channel = channel
        self.protocolVersion = protocolVersion
    }

    /// Connects, then runs the handshake: `HELLO 3 [AUTH u p] [SETNAME n]`,
    /// falling back to RESP2 `AUTH` + `CLIENT SETNAME` on servers without
    /// HELLO; then `SELECT` when a database is set.
    /// - Throws: ``RedisClientError`` (`.server("WRONGPASS …")` for bad credentials).
    public static func connect(
        host: String, port: Int, configuration: RedisConnectionConfiguration = .init(),
        group: any EventLoopGroup
    ) async throws(RedisClientError) -> RedisConnection {
        let limits = configuration.limits
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(RESPTokenDecoder(limits: limits)))
                        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler())
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw .connectFailed("\(host):\(port): \(error)")
        }
        var probe = RedisConnection(channel: channel, protocolVersion: 3)
        do {
            var hello = ["HELLO", "3"]
            if let password = configuration.password {
                hello += ["AUTH", configuration.username ?? "default", password]
            }
            if let name = configuration.clientName { hello += ["SETNAME", name] }
            do {
                _ = try await probe.command(hello)
            } catch .server(let message) where message.hasPrefix("ERR unknown command") || message.hasPrefix("NOPROTO") {
                probe = RedisConnection(channel: channel, protocolVersion: 2)
                if let password = configuration.password {
                    _ = try await probe.command(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
                }
                if let name = configuration.clientName { _ = try await probe.command(["CLIENT", "SETNAME", name]) }
            }
            if configuration.database != 0 { _ = try await probe.command(["SELECT", String(configuration.database)]) }
        } catch {
            try? await channel.close()
            throw error
        }
        return probe
    }

    /// Sends one command and waits for its reply.
    /// - Throws: ``RedisClientError/server(_:)`` for an error reply, or a connection error.
    public func command(_ arguments: [String]) async throws(RedisClientError) -> RESPToken {
        let results = try await pipeline([arguments])
        return try results[0].get()
    }

    /// Sends a batch in one write; replies come back in order, each a
    /// token or that command's own error.
    public func pipeline(_ commands: [[String]]) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>] {
        var bytes = channel.allocator.buffer(capacity: commands.count * 32)
        var promises: [EventLoopPromise<RESPToken>] = []
        promises.reserveCapacity(commands.count)
        for command in commands {
            RESPCommandEncoder.encode(command, into: &bytes)
            promises.append(channel.eventLoop.makePromise(of: RESPToken.self))
        }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(RedisRequest(bytes: bytes, promises: promises), promise: written)
        written.futureResult.whenFailure { _ in
            for p in promises { p.fail(RedisClientError.connectionClosed) }
        }
        var results: [Result<RESPToken, RedisClientError>] = []
        results.reserveCapacity(promises.count)
        for promise in promises {
            do {
                let token = try await promise.futureResult.get()
                if let message = token.errorMessage {
                    results.append(.failure(.server(message)))
                } else {
                    results.append(.success(token))
                }
            } catch let error as RedisClientError {
                results.append(.failure(error))
            } catch {
                results.append(.failure(.connectionClosed))
            }
        }
        return results
    }

    /// Closes the connection; pending commands fail with `.connectionClosed`.
    public func close() async {
        try? await channel.close()
    }
}

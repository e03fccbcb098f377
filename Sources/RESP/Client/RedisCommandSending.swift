public import NIOCore

/// Anything that can run Redis commands: a connection, a client, the
/// routing client. The typed helpers (`get`, `hset`, `scan`…) build on this.
public protocol RedisCommandSending: Sendable {
    /// Runs one command; throws ``RedisClientError`` (`.server` for an error reply).
    func send<Argument: RedisEncodable>(_ arguments: [Argument], timeout: TimeAmount?) async throws(RedisClientError) -> RESPToken
    /// Runs a batch in one write on one connection; one result per command.
    func pipeline<Argument: RedisEncodable>(_ commands: [[Argument]], timeout: TimeAmount?) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>]
}

extension RedisCommandSending {
    /// Runs one command with the default timeout.
    public func send(_ arguments: String...) async throws(RedisClientError) -> RESPToken {
        try await send(arguments, timeout: nil)
    }

    /// Runs one command with the default timeout.
    public func send<Argument: RedisEncodable>(_ arguments: [Argument]) async throws(RedisClientError) -> RESPToken {
        try await send(arguments, timeout: nil)
    }

    /// Runs a batch with the default timeout.
    public func pipeline<Argument: RedisEncodable>(_ commands: [[Argument]]) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>] {
        try await pipeline(commands, timeout: nil)
    }
}

extension RedisConnection: RedisCommandSending {
    public func send<Argument: RedisEncodable>(_ arguments: [Argument], timeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        try await command(arguments, timeout: timeout)
    }
}

/// Commands collected for one write: `try await redis.pipeline { $0.add("SET", "k", "v"); $0.add("INCR", "n") }`.
public struct RedisPipeline: Sendable {
    /// The commands, in order.
    public private(set) var commands: [[String]] = []

    /// Adds one command.
    public mutating func add(_ arguments: String...) {
        commands.append(arguments)
    }

    /// Adds one command given as an array.
    public mutating func add(_ arguments: [String]) {
        commands.append(arguments)
    }
}

extension RedisCommandSending {
    /// Builds a batch with `build`, sends it in one write on one connection
    /// and returns one result per command, in order.
    public func pipeline(timeout: TimeAmount? = nil,
                         _ build: (inout RedisPipeline) -> Void) async throws(RedisClientError) -> [Result<RESPToken, RedisClientError>] {
        var batch = RedisPipeline()
        build(&batch)
        return try await pipeline(batch.commands, timeout: timeout)
    }
}

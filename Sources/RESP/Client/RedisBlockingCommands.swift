public import NIOCore

/// Senders that can run blocking commands safely: a connection of one's
/// own, or a client that leases one per call (never a shared pipeline).
public protocol RedisBlockingCommandSending: RedisCommandSending {
    /// Runs a blocking command whose own timeout is `serverTimeout` (nil: forever).
    func blocking<Argument: RedisEncodable>(_ arguments: [Argument], serverTimeout: TimeAmount?) async throws(RedisClientError) -> RESPToken
}

extension RedisConnection: RedisBlockingCommandSending {
    public func blocking<Argument: RedisEncodable>(_ arguments: [Argument], serverTimeout: TimeAmount?) async throws(RedisClientError) -> RESPToken {
        try await blockingCommand(arguments, serverTimeout: serverTimeout)
    }
}

extension RedisClient: RedisBlockingCommandSending {}

/// Which end of a list.
public enum RedisListEnd: String, Sendable { case left = "LEFT", right = "RIGHT" }

extension RedisBlockingCommandSending {
    /// The server-side timeout argument, in seconds with millisecond precision.
    private func seconds(_ t: TimeAmount) -> String {
        let ms = t.nanoseconds / 1_000_000
        return "\(ms / 1000).\(String(ms % 1000).leftPadded(to: 3))"
    }

    /// `BRPOP key… timeout`: the list and the popped value, nil on timeout.
    /// `timeout` nil blocks until an item comes.
    public func brpop(_ keys: [String], timeout: TimeAmount?) async throws(RedisClientError) -> (key: String, value: String)? {
        let reply = try await blocking(["brpop"] + keys + [timeout.map(seconds) ?? "0"], serverTimeout: timeout).value
        if reply == .null { return nil }
        guard let e = reply.elements, e.count == 2, let key = e[0].string, let value = e[1].string else {
            throw .unexpectedType(expected: "[key, value]", got: reply.typeName)
        }
        return (key, value)
    }

    /// `BLMOVE source destination from to timeout`: the moved value, nil on timeout.
    public func blmove(from source: String, to destination: String, _ fromEnd: RedisListEnd, _ toEnd: RedisListEnd,
                       timeout: TimeAmount?) async throws(RedisClientError) -> String? {
        let reply = try await blocking(["blmove", source, destination, fromEnd.rawValue, toEnd.rawValue,
                                        timeout.map(seconds) ?? "0"], serverTimeout: timeout).value
        if reply == .null { return nil }
        guard let value = reply.string else { throw .unexpectedType(expected: "string", got: reply.typeName) }
        return value
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

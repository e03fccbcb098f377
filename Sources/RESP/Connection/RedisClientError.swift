/// Why a Redis command did not produce a reply. Each case says what to check.
public enum RedisClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection closed before the reply arrived; the command may or may not have run.
    case connectionClosed
    /// The server sent bytes that are not RESP; the connection was closed.
    case protocolError(RESPParsingError)
    /// The server answered with an error reply (`-ERR …`, `-NOPERM …`, `-WRONGPASS …`).
    case server(String)
    /// The server sent a reply with no command waiting for it; the connection was closed.
    case unexpectedReply
    /// The TCP connection could not be made.
    case connectFailed(String)
    /// No reply before the command's deadline; the command may have run.
    /// A blocking command's connection is closed so its pop cannot swallow a later item.
    case timeout
    /// No connection could be made before the command's deadline; the last connect error says why.
    case notConnected(String)
    /// The command needs the privileged endpoint and no credentials were given.
    case missingCredentials(String)
    /// The client was closed.
    case clientClosed
    /// The reply has another type than the command's helper expects.
    case unexpectedType(expected: String, got: String)

    public var description: String {
        switch self {
        case .connectionClosed: "Redis connection closed before the reply (the command may have run)"
        case .protocolError(let e): "Redis sent invalid data, connection closed: \(e)"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply: "Redis sent a reply no command was waiting for (push data on a command connection?), connection closed"
        case .connectFailed(let reason): "cannot connect to Redis: \(reason)"
        case .timeout: "Redis did not reply in time (the command may have run); raise the timeout or check the server's load"
        case .notConnected(let reason): "Redis is unreachable, gave up waiting for a connection: \(reason)"
        case .missingCredentials(let what): "this command needs the privileged Redis endpoint: \(what)"
        case .clientClosed: "the Redis client was closed"
        case .unexpectedType(let expected, let got): "Redis replied with \(got) where \(expected) was expected (a key of another type?)"
        }
    }

    /// The error code of a server error (`NOPERM`, `WRONGPASS`, `ERR`…).
    public var serverCode: Substring? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}

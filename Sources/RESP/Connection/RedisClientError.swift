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

    public var description: String {
        switch self {
        case .connectionClosed: "Redis connection closed before the reply (the command may have run)"
        case .protocolError(let e): "Redis sent invalid data, connection closed: \(e)"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply: "Redis sent a reply no command was waiting for (push data on a command connection?), connection closed"
        case .connectFailed(let reason): "cannot connect to Redis: \(reason)"
        }
    }

    /// The error code of a server error (`NOPERM`, `WRONGPASS`, `ERR`…).
    public var serverCode: Substring? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}

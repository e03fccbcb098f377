public import NIOCore

/// One command sent by a Redis client: its arguments as slices of the
/// received bytes, and the request as RESP to forward (the original bytes
/// for a multibulk request; encoded from the arguments for an inline one).
public struct RESPRequest: Sendable {
    /// The command name first; slices of the receive buffer, not copies.
    public var arguments: [ByteBuffer]
    /// The request to send upstream, exactly as received when it was multibulk.
    public var bytes: ByteBuffer

    /// Creates a request from its parts.
    public init(arguments: [ByteBuffer], bytes: ByteBuffer) {
        self.arguments = arguments
        self.bytes = bytes
    }
}

/// How much a client may send in one request.
public struct RESPRequestLimits: Sendable {
    /// The whole request (`--max-request-size`, 64 MiB by default).
    public var maxRequestBytes: Int
    /// One argument (Redis's `proto-max-bulk-len`, 512 MiB).
    public var maxBulkLength: Int
    /// Arguments of one request (Redis accepts up to 1024·1024).
    public var maxArguments: Int
    /// One inline request line, and the header lines of multibulk (Redis: 64 KiB).
    public var maxInlineLength: Int

    /// Creates limits (Redis's own, with a 64 MiB request cap).
    public init(maxRequestBytes: Int = 64 << 20, maxBulkLength: Int = 512 << 20,
                maxArguments: Int = 1024 * 1024, maxInlineLength: Int = 64 << 10) {
        self.maxRequestBytes = maxRequestBytes
        self.maxBulkLength = maxBulkLength
        self.maxArguments = maxArguments
        self.maxInlineLength = maxInlineLength
    }
}

/// A request that can never be valid. `message` is what Redis answers
/// after `-ERR Protocol error: ` before closing the connection.
public struct RESPRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    /// The error reply, as Redis sends it.
    public var reply: String { "-ERR Protocol error: \(message)\r\n" }
    public var description: String { "Protocol error: \(message)" }
}

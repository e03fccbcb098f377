/// Why HTTP/1.1 bytes were refused. A request refused gets the status of
/// ``status`` and the connection is closed; a backend's response refused is a 502.
public enum HTTPWireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not HTTP/1.x as RFC 9112 writes it (the detail says where).
    case malformed(String)
    /// The head is larger than the limit (bytes), or has more header fields than allowed.
    case headTooLarge(limit: Int)
    /// Content-Length and Transfer-Encoding together, or Content-Length values that differ:
    /// the framing is ambiguous (request smuggling).
    case ambiguousFraming
    /// A transfer coding other than `chunked`.
    case unsupportedTransferCoding(String)
    /// Chunked body framing broken (bad size line, missing CRLF, oversized extension or trailer).
    case badChunk(String)

    /// The status answered to a client whose request this is.
    public var status: Int {
        switch self {
        case .headTooLarge: 431
        case .unsupportedTransferCoding: 501
        default: 400
        }
    }

    public var description: String {
        switch self {
        case .malformed(let where_): "malformed HTTP/1.1 message: \(where_)"
        case .headTooLarge(let limit): "message head larger than \(limit) bytes or with too many fields"
        case .ambiguousFraming: "both Content-Length and Transfer-Encoding, or differing Content-Length values"
        case .unsupportedTransferCoding(let coding): "unsupported transfer coding \(coding.debugDescription) (only chunked is)"
        case .badChunk(let where_): "bad chunked body: \(where_)"
        }
    }
}

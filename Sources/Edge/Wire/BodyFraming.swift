/// How a message's body is delimited (RFC 9112 §6.3).
public enum BodyFraming: Equatable, Sendable {
    case none
    case length(Int64)
    case chunked
    /// A response without length or chunked coding: its body ends when the connection does.
    case untilClose
}

extension MessageHead {
    /// The status code of a response head.
    public var statusCode: Int {
        bytes.withUnsafeReadableBytes { raw in first.reduce(0) { $0 * 10 + Int(raw[$1] - 0x30) } }
    }

    /// Whether the connection stays open after this message: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var isKeepAlive: Bool {
        let connection = tokens("connection")
        return minorVersion >= 1 ? !connection.contains("close") : connection.contains("keep-alive")
    }

    /// A request's body framing. Both Content-Length and Transfer-Encoding, differing lengths,
    /// Transfer-Encoding in HTTP/1.0 or any coding but `chunked` are refused: a proxy that framed
    /// such a request differently from its backend would let a second request be smuggled in.
    public func requestFraming() throws(HTTPWireError) -> BodyFraming {
        let codings = tokens("transfer-encoding")
        let length = try contentLength()
        if !codings.isEmpty || !values("transfer-encoding").isEmpty {
            guard length == nil, minorVersion >= 1 else { throw .ambiguousFraming }
            guard codings == ["chunked"] else { throw .unsupportedTransferCoding(codings.joined(separator: ", ")) }
            return .chunked
        }
        if let length, length > 0 { return .length(length) }
        return .none
    }

    /// A response's body framing; `toHead`: the answer to a HEAD request (no body, whatever the fields say).
    public func responseFraming(toHead: Bool) throws(HTTPWireError) -> BodyFraming {
        let status = statusCode
        if toHead || status < 200 || status == 204 || status == 304 { return .none }
        let codings = tokens("transfer-encoding")
        if !codings.isEmpty { return codings.last == "chunked" ? .chunked : .untilClose }
        if let length = try contentLength() { return length > 0 ? .length(length) : .none }
        return .untilClose
    }

    /// Content-Length, if any; every value (and list element) must be the same digits.
    func contentLength() throws(HTTPWireError) -> Int64? {
        var found: Int64?
        for value in values("content-length") {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = part.trimmingASCIISpace()
                guard !digits.isEmpty, digits.utf8.count <= 18, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let n = Int64(digits) else { throw .malformed("Content-Length") }
                guard found == nil || found == n else { throw .ambiguousFraming }
                found = n
            }
        }
        return found
    }
}

/// How a message's body is delimited (RFC 9112 §6.3).
public enum BodyFraming: Equatable, Sendable {
    /// No body (a request without length or coding; HEAD, 1xx, 204, 304 answers).
    case none
    /// Exactly this many bytes (Content-Length).
    case length(Int64)
    /// Transfer-Encoding chunked: size lines, data, a last chunk and trailers.
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
        minorVersion >= 1 ? !hasToken("connection", "close") : hasToken("connection", "keep-alive")
    }

    /// A request's body framing. Both Content-Length and Transfer-Encoding, differing lengths,
    /// Transfer-Encoding in HTTP/1.0 or any coding but `chunked` are refused: a proxy that framed
    /// such a request differently from its backend would let a second request be smuggled in.
    public func requestFraming() throws(HTTPWireError) -> BodyFraming {
        let length = try contentLength()
        guard has("transfer-encoding") else { return length.map { $0 > 0 ? .length($0) : .none } ?? .none }
        guard length == nil, minorVersion >= 1 else { throw .ambiguousFraming }
        var codings = 0, chunked = false
        forEachToken("transfer-encoding") { range in
            codings += 1
            chunked = bytes.equalsIgnoringCase(range, "chunked")
            return true
        }
        guard codings == 1, chunked else { throw .unsupportedTransferCoding(tokens("transfer-encoding").joined(separator: ", ")) }
        return .chunked
    }

    /// A response's body framing; `toHead`: the answer to a HEAD request (no body, whatever the fields say).
    public func responseFraming(toHead: Bool) throws(HTTPWireError) -> BodyFraming {
        let status = statusCode
        if toHead || status < 200 || status == 204 || status == 304 { return .none }
        var last: Range<Int>?
        forEachToken("transfer-encoding") { last = $0; return true }
        if let last { return bytes.equalsIgnoringCase(last, "chunked") ? .chunked : .untilClose }
        if let length = try contentLength() { return length > 0 ? .length(length) : .none }
        return .untilClose
    }

    /// Content-Length, if any; every value (and list element) must be the same digits.
    func contentLength() throws(HTTPWireError) -> Int64? {
        var found: Int64?
        var bad = false
        for field in fields where name(of: field, is: "content-length") {
            // A list element may not be empty ("5,,5"), unlike other list fields: each must be the length.
            var start = Int(field.valueStart)
            let end = Int(field.valueEnd)
            bytes.withUnsafeReadableBytes { raw in
                while !bad, start <= end {
                    var i = start
                    while i < end, raw[i] == 0x20 || raw[i] == 0x09 { i += 1 }
                    var n: Int64 = 0, digits = 0
                    while i < end, raw[i] >= 0x30, raw[i] <= 0x39 {
                        digits += 1
                        if digits > 18 { break }  // (18 digits cannot overflow)
                        n = n * 10 + Int64(raw[i] - 0x30)
                        i += 1
                    }
                    while i < end, raw[i] == 0x20 || raw[i] == 0x09 { i += 1 }
                    if digits == 0 || digits > 18 || i < end && raw[i] != 0x2C || found != nil && found != n { bad = true; return }
                    found = n
                    start = i + 1
                }
            }
            if bad { break }
        }
        guard !bad else {
            let values = self.values("content-length").joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false)
            let numbers = values.map { Int64($0.trimmingASCIISpace()) }
            throw numbers.allSatisfy({ $0 != nil && $0! >= 0 }) && Set(numbers).count > 1 ? .ambiguousFraming : .malformed("Content-Length")
        }
        return found
    }
}

public import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and parses one HTTP/1.1 request or response head (RFC 9112 §2–5) at
/// the front of a buffer, strictly: lines end in CRLF (a bare CR or LF is an
/// error, not a line end), field names are tokens with no space before the
/// colon, values hold no control characters, no line folding. The search for
/// the head's end resumes where the last call stopped (a trickled head is not
/// scanned again from the start), and a head over the limit is refused before
/// it is all buffered.
public struct HeadParser: Sendable {
    /// A request head (request line) or a response head (status line).
    public enum Kind: Sendable { case request, response }

    public let kind: Kind
    /// Largest head accepted, in bytes.
    public let maxBytes: Int
    /// Most header fields accepted.
    public let maxFields: Int
    /// Bytes of the buffer already searched for the empty line.
    private var searched = 0
    /// The last head's field list: its storage is reused by the next head once that one is let go of.
    private var fieldStore: [MessageHead.Field] = []

    public init(_ kind: Kind, maxBytes: Int = 64 * 1024, maxFields: Int = 256) {
        self.kind = kind
        self.maxBytes = maxBytes
        self.maxFields = maxFields
    }

    /// Takes a complete head off the front of `buffer`, or returns nil (and takes nothing) while it is incomplete.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(HTTPWireError) -> MessageHead? {
        if kind == .request { skipLeadingEmptyLines(&buffer) }
        guard let end = findEnd(buffer) else {
            if buffer.readableBytes > maxBytes { throw .headTooLarge(limit: maxBytes) }
            return nil
        }
        searched = 0
        guard end <= maxBytes else { throw .headTooLarge(limit: maxBytes) }
        let bytes = buffer.readSlice(length: end)!
        return try Self.parseHead(bytes, kind: kind, maxFields: maxFields, fields: &fieldStore)
    }

    /// Forgets a partly searched head (the parser is ready for a new message; its storage is kept).
    public mutating func reset() { searched = 0 }

    /// A client may send CRLF between requests (RFC 9112 §2.2): ignored.
    private mutating func skipLeadingEmptyLines(_ buffer: inout ByteBuffer) {
        while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
            buffer.moveReaderIndex(forwardBy: 2)
            searched = 0
        }
    }

    /// The length of the head (through CRLFCRLF), if the buffer holds all of it.
    private mutating func findEnd(_ buffer: ByteBuffer) -> Int? {
        let found: Int? = buffer.withUnsafeReadableBytes { raw in
            var i = max(searched, 3)
            while i < raw.count, let lf = LineScanner.lineFeed(raw, from: i) {
                if raw[lf - 1] == 0x0D, raw[lf - 2] == 0x0A, raw[lf - 3] == 0x0D { return lf + 1 }
                i = lf + 1
            }
            return nil
        }
        if found == nil { searched = buffer.readableBytes }
        return found
    }

    static func parseHead(_ bytes: ByteBuffer, kind: Kind, maxFields: Int,
                          fields: inout [MessageHead.Field]) throws(HTTPWireError) -> MessageHead {
        // Unique again once the last head is gone: no allocation per head.
        fields.removeAll(keepingCapacity: true)
        if fields.capacity == 0 { fields.reserveCapacity(16) }
        let parsed: Result<MessageHead, HTTPWireError> = bytes.withUnsafeReadableBytes { raw in
            let scanner = LineScanner(raw: raw)
            do throws(HTTPWireError) {
                let lineEnd = try scanner.lineEnd(from: 0)
                let start = kind == .request ? try requestLine(raw, lineEnd) : try statusLine(raw, lineEnd)
                var at = lineEnd + 2
                while true {
                    let end = try scanner.lineEnd(from: at)
                    if end == at { break }
                    guard fields.count < maxFields else { throw .headTooLarge(limit: maxFields) }
                    fields.append(try field(raw, at, end))
                    at = end + 2
                }
                return .success(MessageHead(bytes: bytes, first: start.first, second: start.second, minorVersion: start.minor,
                                            fieldsStart: lineEnd + 2, fields: fields))
            } catch {
                return .failure(error)
            }
        }
        return try parsed.get()
    }

    /// `method SP target SP HTTP/1.x`.
    private static func requestLine(_ raw: UnsafeRawBufferPointer, _ end: Int) throws(HTTPWireError)
        -> (first: Range<Int>, second: Range<Int>, minor: Int) {
        var i = 0
        while i < end, isTokenByte(raw[i]) { i += 1 }
        guard i > 0, i < end, raw[i] == 0x20 else { throw .malformed("request line: method") }
        let method = 0..<i
        i += 1
        let targetStart = i
        // Visible ASCII, and bytes of raw UTF-8 (clients send them; they cannot delimit anything): no space, no control.
        while i < end, raw[i] > 0x20, raw[i] != 0x7F { i += 1 }
        guard i > targetStart, i < end, raw[i] == 0x20 else { throw .malformed("request line: target") }
        let target = targetStart..<i
        let minor = try version(raw, i + 1, end)
        guard i + 9 == end else { throw .malformed("request line: version") }
        return (method, target, minor)
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`.
    private static func statusLine(_ raw: UnsafeRawBufferPointer, _ end: Int) throws(HTTPWireError)
        -> (first: Range<Int>, second: Range<Int>, minor: Int) {
        let minor = try version(raw, 0, end)
        guard end >= 12, raw[8] == 0x20, (9..<12).allSatisfy({ raw[$0] >= 0x30 && raw[$0] <= 0x39 }) else {
            throw .malformed("status line")
        }
        guard end == 12 || raw[12] == 0x20 else { throw .malformed("status line: reason") }
        let reasonStart = min(end, 13)
        for j in reasonStart..<end where raw[j] < 0x20 && raw[j] != 0x09 || raw[j] == 0x7F { throw .malformed("status line: reason") }
        return (9..<12, reasonStart..<end, minor)
    }

    /// `HTTP/1.x` at `at`: x.
    private static func version(_ raw: UnsafeRawBufferPointer, _ at: Int, _ end: Int) throws(HTTPWireError) -> Int {
        guard at + 8 <= end else { throw .malformed("version") }
        let prefix: StaticString = "HTTP/1."
        for k in 0..<7 where raw[at + k] != prefix.utf8Start[k] { throw .malformed("version (HTTP/1.x only)") }
        let minor = raw[at + 7]
        guard minor >= 0x30, minor <= 0x39 else { throw .malformed("version") }
        return Int(minor - 0x30)
    }

    /// `name: OWS value OWS`.
    private static func field(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) throws(HTTPWireError) -> MessageHead.Field {
        var i = start
        while i < end, isTokenByte(raw[i]) { i += 1 }
        guard i > start, i < end, raw[i] == 0x3A else {
            throw .malformed(raw[start] == 0x20 || raw[start] == 0x09 ? "folded header line" : "header name")
        }
        let nameEnd = i
        i += 1
        while i < end, raw[i] == 0x20 || raw[i] == 0x09 { i += 1 }
        let valueStart = i
        var valueEnd = i
        while i < end {
            let c = raw[i]
            guard c >= 0x20 && c != 0x7F || c == 0x09 else { throw .malformed("control character in a header value") }
            i += 1
            if c != 0x20 && c != 0x09 { valueEnd = i }
        }
        return MessageHead.Field(lineStart: Int32(start), nameEnd: Int32(nameEnd), valueStart: Int32(valueStart),
                                 valueEnd: Int32(valueEnd), lineEnd: Int32(end + 2))
    }

    /// RFC 9110 tchar (`!#$%&'*+-.^_`|~`, digits, letters), looked up in two 64-bit masks.
    @inline(__always) static func isTokenByte(_ c: UInt8) -> Bool {
        c < 64 ? (0x03FF_6CFA_0000_0000 as UInt64) >> c & 1 == 1 : c < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (c - 64) & 1 == 1
    }
}

/// Line ends in a head: each line ends in CRLF, no LF comes without its CR. A
/// CR inside a line is left to the line's own checks (the request and status
/// lines, field names and values all refuse it).
private struct LineScanner {
    let raw: UnsafeRawBufferPointer

    /// The index of the CR ending the line that starts at `from`.
    func lineEnd(from: Int) throws(HTTPWireError) -> Int {
        guard let lf = Self.lineFeed(raw, from: from) else { throw .malformed("unterminated line") }
        guard lf > from, raw[lf - 1] == 0x0D else { throw .malformed("LF without CR") }
        return lf - 1
    }

    /// The index of the first LF at or after `from` (memchr: the heads' lines are found a word at a time).
    static func lineFeed(_ raw: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < raw.count, let base = raw.baseAddress,
              let hit = memchr(base + from, 0x0A, raw.count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}

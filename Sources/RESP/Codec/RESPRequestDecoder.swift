public import NIOCore

/// Frames what a Redis client sends into ``RESPRequest``s: multibulk
/// (`*N` arrays of `$len` bulk strings, what every client library sends)
/// and inline commands (`PING`, `SET k "a b"`, what telnet users type),
/// with Redis's error texts. A large request arriving in many reads is
/// scanned once: the decoder keeps its place between calls.
public struct RESPRequestDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPRequest
    public let limits: RESPRequestLimits

    /// Where a partly received multibulk request stopped: arguments found
    /// so far (offset and length, relative to the reader index) and the
    /// offset after them.
    private var expected = 0
    private var offset = 0
    private var found: [(start: Int, length: Int)] = []

    public init(limits: RESPRequestLimits = .init()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPRequest? {
        while true {
            guard let first = buffer.readableBytesView.first else { return nil }
            if first == UInt8(ascii: "*") {
                return try multibulk(&buffer)
            }
            guard let request = try inline(&buffer) else { return nil }
            if request.arguments.isEmpty { continue }  // an empty line: Redis ignores it
            return request
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPRequest? {
        try decode(buffer: &buffer)
    }

    // MARK: multibulk

    private mutating func multibulk(_ buffer: inout ByteBuffer) throws(RESPRequestError) -> RESPRequest? {
        let view = buffer.readableBytesView
        let base = view.startIndex
        if expected == 0 {
            guard let (count, next) = try Self.line(view, from: 1, limit: limits.maxInlineLength, tooBig: "too big mbulk count string") else {
                return nil
            }
            guard count <= limits.maxArguments else { throw RESPRequestError("invalid multibulk length") }
            if count <= 0 {  // `*0`, `*-1`: nothing to run
                buffer.moveReaderIndex(forwardBy: next)
                return RESPRequest(arguments: [], bytes: ByteBuffer())
            }
            expected = count
            offset = next
            found.removeAll(keepingCapacity: true)
            found.reserveCapacity(min(count, 64))
        }
        while found.count < expected {
            guard offset < view.count else { return nil }
            let type = view[base + offset]
            guard type == UInt8(ascii: "$") else {
                throw RESPRequestError("expected '$', got '\(Character(Unicode.Scalar(type)))'")
            }
            guard let (length, next) = try Self.line(view, from: offset + 1, limit: limits.maxInlineLength,
                                                     tooBig: "too big bulk count string") else { return nil }
            guard length >= 0, length <= limits.maxBulkLength else { throw RESPRequestError("invalid bulk length") }
            guard next + length + 2 <= limits.maxRequestBytes else {
                throw RESPRequestError("request larger than \(limits.maxRequestBytes) bytes (the proxy's --max-request-size)")
            }
            guard next + length + 2 <= view.count else { return nil }
            found.append((next, length))
            offset = next + length + 2
        }
        guard let bytes = buffer.readSlice(length: offset) else { return nil }
        var arguments: [ByteBuffer] = []
        arguments.reserveCapacity(found.count)
        for (start, length) in found { arguments.append(bytes.getSlice(at: bytes.readerIndex + start, length: length)!) }
        expected = 0
        offset = 0
        return RESPRequest(arguments: arguments, bytes: bytes)
    }

    /// Parses the decimal after a type byte up to CRLF; nil while incomplete.
    /// - Returns: the value and the offset after the CRLF.
    private static func line(_ view: ByteBufferView, from start: Int, limit: Int,
                             tooBig: String) throws(RESPRequestError) -> (Int, Int)? {
        let base = view.startIndex
        var i = start
        var value = 0
        var negative = false
        var digits = 0
        while i < view.count {
            let c = view[base + i]
            if c == UInt8(ascii: "\r") {
                guard i + 1 < view.count else { return nil }
                guard digits > 0, digits <= 18, view[base + i + 1] == UInt8(ascii: "\n") else {
                    throw RESPRequestError(tooBig.contains("mbulk") ? "invalid multibulk length" : "invalid bulk length")
                }
                return (negative ? -value : value, i + 2)
            }
            if c == UInt8(ascii: "-"), i == start, !negative {
                negative = true
            } else if c >= 48, c <= 57 {
                if digits < 18 { value = value * 10 + Int(c - 48) }
                digits += 1
            } else {
                throw RESPRequestError(tooBig.contains("mbulk") ? "invalid multibulk length" : "invalid bulk length")
            }
            i += 1
            if i - start > limit { throw RESPRequestError(tooBig) }
        }
        if view.count - start > limit { throw RESPRequestError(tooBig) }
        return nil
    }

    // MARK: inline

    private func inline(_ buffer: inout ByteBuffer) throws(RESPRequestError) -> RESPRequest? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > limits.maxInlineLength { throw RESPRequestError("too big inline request") }
            return nil
        }
        let length = newline - view.startIndex
        if length > limits.maxInlineLength { throw RESPRequestError("too big inline request") }
        var line = Array(view[view.startIndex..<newline])
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        buffer.moveReaderIndex(forwardBy: length + 1)
        let words = try Self.splitArguments(line)
        let arguments = words.map { ByteBuffer(bytes: $0) }
        var bytes = ByteBuffer()
        RESPCommandEncoder.encode(arguments, into: &bytes)
        return RESPRequest(arguments: arguments, bytes: bytes)
    }

    /// Redis's `sdssplitargs`: spaces separate, `"…"` with `\n \r \t \b \a \\ \" \xHH`, `'…'` with `\'`.
    static func splitArguments(_ line: [UInt8]) throws(RESPRequestError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        while true {
            while i < line.count, isSpace(line[i]) { i += 1 }
            if i >= line.count { return out }
            var word: [UInt8] = []
            var quote: UInt8 = 0
            while true {
                if quote == UInt8(ascii: "\"") {
                    guard i < line.count else { throw RESPRequestError("unbalanced quotes in request") }
                    let c = line[i]
                    if c == UInt8(ascii: "\\"), i + 3 < line.count, line[i + 1] == UInt8(ascii: "x"),
                       let h = hex(line[i + 2]), let l = hex(line[i + 3]) {
                        word.append(h << 4 | l)
                        i += 3
                    } else if c == UInt8(ascii: "\\"), i + 1 < line.count {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): word.append(10)
                        case UInt8(ascii: "r"): word.append(13)
                        case UInt8(ascii: "t"): word.append(9)
                        case UInt8(ascii: "b"): word.append(8)
                        case UInt8(ascii: "a"): word.append(7)
                        default: word.append(line[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        // The closing quote must be followed by a space or the end.
                        if i + 1 < line.count, !isSpace(line[i + 1]) { throw RESPRequestError("unbalanced quotes in request") }
                        i += 1
                        break
                    } else {
                        word.append(c)
                    }
                } else if quote == UInt8(ascii: "'") {
                    guard i < line.count else { throw RESPRequestError("unbalanced quotes in request") }
                    let c = line[i]
                    if c == UInt8(ascii: "\\"), i + 1 < line.count, line[i + 1] == UInt8(ascii: "'") {
                        word.append(UInt8(ascii: "'"))
                        i += 1
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < line.count, !isSpace(line[i + 1]) { throw RESPRequestError("unbalanced quotes in request") }
                        i += 1
                        break
                    } else {
                        word.append(c)
                    }
                } else {
                    if i >= line.count || isSpace(line[i]) { break }
                    let c = line[i]
                    if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { quote = c } else { word.append(c) }
                }
                i += 1
            }
            out.append(word)
        }
    }
}

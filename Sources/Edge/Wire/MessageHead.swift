public import NIOCore

/// One HTTP/1.1 message head as received: its bytes (start line to the empty
/// line) and where each part lies in them. Nothing is copied out until asked
/// for, so a proxy can pass most header lines on as one block of bytes.
public struct MessageHead: Sendable {
    /// One header line: `name: value` and its line ending, by offsets in ``bytes``.
    public struct Field: Sendable {
        /// Where the line starts (the name's first byte).
        public let lineStart: Int32
        /// Where the name ends (the colon).
        public let nameEnd: Int32
        /// The value without the whitespace around it.
        public let valueStart: Int32, valueEnd: Int32
        /// Past the line's CRLF.
        public let lineEnd: Int32

        var name: Range<Int> { Int(lineStart)..<Int(nameEnd) }
        var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
    }

    /// The head's bytes, reader index 0, from the start line through the CRLF of the empty line.
    public let bytes: ByteBuffer
    /// Request: the method; response: the status code (3 digits).
    public let first: Range<Int>
    /// Request: the target; response: the reason phrase (may be empty).
    public let second: Range<Int>
    /// `x` of HTTP/1.x.
    public let minorVersion: Int
    /// Where the first header line starts (past the start line's CRLF).
    public let fieldsStart: Int
    public let fields: [Field]

    /// The bytes of `range` as text (header values may hold obs-text: decoded leniently as UTF-8).
    public func string(_ range: Range<Int>) -> String {
        bytes.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    /// Whether `field`'s name is `lowercased` (ASCII, compared without case).
    public func name(of field: Field, is lowercased: StaticString) -> Bool {
        bytes.equalsIgnoringCase(field.name, lowercased)
    }

    /// The value of the first field called `lowercased`.
    public func value(_ lowercased: StaticString) -> String? {
        fields.first { name(of: $0, is: lowercased) }.map { string($0.value) }
    }

    /// The values of every field called `lowercased`, in order.
    public func values(_ lowercased: StaticString) -> [String] {
        fields.filter { name(of: $0, is: lowercased) }.map { string($0.value) }
    }

    /// Whether a field called `lowercased` is present.
    public func has(_ lowercased: StaticString) -> Bool {
        fields.contains { name(of: $0, is: lowercased) }
    }

    /// The comma-separated tokens of every field called `lowercased`, trimmed, lower-cased.
    public func tokens(_ lowercased: StaticString) -> [Substring] {
        var out: [Substring] = []
        forEachToken(lowercased) { out.append(Substring(string($0).lowercased())); return true }
        return out
    }

    /// Whether a field called `name` lists `token` (both compared without case; `token` lower-cased).
    public func hasToken(_ name: StaticString, _ token: StaticString) -> Bool {
        var found = false
        forEachToken(name) { range in
            found = bytes.equalsIgnoringCase(range, token)
            return !found
        }
        return found
    }

    /// Calls `body` with the range of each comma-separated, trimmed, non-empty token of every
    /// field called `name`, in order, until it returns false. No copies.
    func forEachToken(_ name: StaticString, _ body: (Range<Int>) -> Bool) {
        for field in fields where self.name(of: field, is: name) {
            var start = Int(field.valueStart)
            let end = Int(field.valueEnd)
            while start <= end {
                let comma = bytes.withUnsafeReadableBytes { raw in (start..<end).first { raw[$0] == 0x2C } } ?? end
                var a = start, b = comma
                bytes.withUnsafeReadableBytes { raw in
                    while a < b, raw[a] == 0x20 || raw[a] == 0x09 { a += 1 }
                    while b > a, raw[b - 1] == 0x20 || raw[b - 1] == 0x09 { b -= 1 }
                }
                if a < b, !body(a..<b) { return }
                start = comma + 1
            }
        }
    }
}

extension ByteBuffer {
    /// Whether the bytes at `range` (from reader index 0) are `lowercased`, ASCII letters compared without case.
    func equalsIgnoringCase(_ range: Range<Int>, _ lowercased: StaticString) -> Bool {
        guard range.count == lowercased.utf8CodeUnitCount else { return false }
        return withUnsafeReadableBytes { raw in
            let expected = UnsafeRawBufferPointer(start: lowercased.utf8Start, count: lowercased.utf8CodeUnitCount)
            for i in 0..<range.count {
                let c = raw[range.lowerBound + i]
                let lower = c >= 0x41 && c <= 0x5A ? c | 0x20 : c
                if lower != expected[i] { return false }
            }
            return true
        }
    }
}

extension Substring {
    func trimmingASCIISpace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

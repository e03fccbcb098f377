import NIOCore

/// One BER element: its tag byte and where its contents are (offsets from the buffer's reader index).
struct BERElement {
    let tag: UInt8
    let contents: Range<Int>
    let buffer: ByteBuffer

    /// An INTEGER or ENUMERATED value (up to 8 bytes, two's complement).
    var integerValue: Int? {
        guard !contents.isEmpty, contents.count <= 8 else { return nil }
        let base = buffer.readerIndex
        guard let first = buffer.getInteger(at: base + contents.lowerBound, as: UInt8.self) else { return nil }
        var value = Int(Int8(bitPattern: first))
        for i in contents.dropFirst() {
            guard let b = buffer.getInteger(at: base + i, as: UInt8.self) else { return nil }
            value = value << 8 | Int(b)
        }
        return value
    }

    /// An OCTET STRING (or an OID given as text, as LDAP's LDAPOID is).
    var stringValue: String? {
        buffer.getString(at: buffer.readerIndex + contents.lowerBound, length: contents.count)
    }
}

/// Reads definite-length BER elements one after the other within a range
/// of a buffer, without copying (offsets are from the reader index).
struct BERReader {
    let buffer: ByteBuffer
    var offset: Int
    let end: Int

    init(_ buffer: ByteBuffer, range: Range<Int>) {
        self.buffer = buffer
        offset = range.lowerBound
        end = range.upperBound
    }

    /// The next element (its contents are not parsed).
    mutating func element() throws(LDAPFramingError) -> BERElement {
        guard offset < end, let tag = buffer.getInteger(at: buffer.readerIndex + offset, as: UInt8.self) else {
            throw .notAnLDAPMessage("element missing")
        }
        guard tag & 0x1F != 0x1F else { throw .notAnLDAPMessage("multi-byte tags are not used by LDAP") }
        guard let (length, header) = try Self.length(buffer, at: offset + 1, available: end) else {
            throw .invalidLength("element runs past its container")
        }
        let start = offset + header
        guard start + length <= end else { throw .invalidLength("element runs past its container") }
        offset = start + length
        return BERElement(tag: tag, contents: start..<(start + length), buffer: buffer)
    }

    /// Decodes a definite length whose first byte is `at` bytes past the
    /// reader index, looking no further than `available`. Returns the length
    /// and the header size counted from the tag byte; nil when bytes run out.
    static func length(_ buffer: ByteBuffer, at: Int, available: Int) throws(LDAPFramingError) -> (Int, Int)? {
        guard at < available, let first = buffer.getInteger(at: buffer.readerIndex + at, as: UInt8.self) else { return nil }
        if first < 0x80 { return (Int(first), 2) }
        if first == 0x80 { throw .indefiniteLength }
        let count = Int(first & 0x7F)
        guard count <= 4 else { throw .invalidLength("\(count) length bytes") }
        guard at + count < available else { return nil }
        var length = 0
        for i in 1...count {
            guard let b = buffer.getInteger(at: buffer.readerIndex + at + i, as: UInt8.self) else { return nil }
            length = length << 8 | Int(b)
        }
        return (length, 2 + count)
    }
}

import NIOCore

/// Writes message heads as bytes: a received head passed on (its kept field
/// lines copied in runs, as they came), or a head the edge makes.
enum HeadWriter {
    /// The request line for the backend, `head`'s fields but the dropped ones, the edge's
    /// `X-Forwarded-*` and `extra` lines, and the empty line.
    static func request(_ head: MessageHead, target: String, rules: HopByHop, forwardedFor: String, proto: StaticString,
                        host: String, extra: StaticString?, into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: head.bytes.readableBytes + target.utf8.count + forwardedFor.utf8.count + host.utf8.count + 128)
        out.writeBytes(of: head.bytes, head.first)
        out.writeInteger(UInt8(0x20))
        out.writeString(target)
        out.writeStaticString(" HTTP/1.1\r\n")
        copyFields(head, rules, into: &out)
        out.writeStaticString("x-forwarded-for: ")
        out.writeString(forwardedFor)
        out.writeStaticString("\r\nx-forwarded-proto: ")
        out.writeStaticString(proto)
        out.writeStaticString("\r\nx-forwarded-host: ")
        out.writeString(host)
        out.writeStaticString("\r\n")
        if let extra { out.writeStaticString(extra) }
        out.writeStaticString("\r\n")
    }

    /// A received response head for the client: status line as HTTP/1.1, the kept fields, `extra` lines.
    static func response(_ head: MessageHead, rules: HopByHop, extra: StaticString?, into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: head.bytes.readableBytes + 64)
        out.writeStaticString("HTTP/1.1 ")
        out.writeBytes(of: head.bytes, head.first.lowerBound..<head.second.upperBound)
        out.writeStaticString("\r\n")
        copyFields(head, rules, into: &out)
        if let extra { out.writeStaticString(extra) }
        out.writeStaticString("\r\n")
    }

    /// A head the edge makes: `HTTP/1.1 code reason`, then `fields`.
    static func response(status: Int, reason: String, fields: [(String, String)], into out: inout ByteBuffer) {
        out.writeString("HTTP/1.1 \(status) \(reason)\r\n")
        for (name, value) in fields { out.writeString("\(name): \(value)\r\n") }
        out.writeStaticString("\r\n")
    }

    /// Copies the kept field lines: consecutive kept lines in one write.
    private static func copyFields(_ head: MessageHead, _ rules: HopByHop, into out: inout ByteBuffer) {
        var run = head.fieldsStart
        for field in head.fields where rules.drops(field, of: head) {
            if Int(field.lineStart) > run { out.writeBytes(of: head.bytes, run..<Int(field.lineStart)) }
            run = Int(field.lineEnd)
        }
        let end = head.fields.last.map { Int($0.lineEnd) } ?? head.fieldsStart
        if end > run { out.writeBytes(of: head.bytes, run..<end) }
    }
}

extension ByteBuffer {
    /// Appends the bytes at `range` of `source`'s readable bytes (one copy, no view or slice made).
    @inline(__always) mutating func writeBytes(of source: ByteBuffer, _ range: Range<Int>) {
        source.withUnsafeReadableBytes { raw in _ = self.writeBytes(UnsafeRawBufferPointer(rebasing: raw[range])) }
    }
}

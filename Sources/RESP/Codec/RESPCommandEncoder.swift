public import NIOCore

/// Writes commands as RESP arrays of bulk strings, straight into a buffer:
/// the command's size is computed first, then every byte is written in one
/// pass over reserved memory (one buffer access per command, no temporary
/// Strings).
public enum RESPCommandEncoder {
    /// Appends `*N\r\n` then `$len\r\narg\r\n` per argument (UTF-8 bytes).
    public static func encode(_ arguments: [String], into buffer: inout ByteBuffer) {
        var size = headerSize(arguments.count)
        for argument in arguments { size += headerSize(argument.utf8.count) + argument.utf8.count + 2 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = Cursor(base: raw.baseAddress!)
            out.header(UInt8(ascii: "*"), arguments.count)
            for argument in arguments {
                var argument = argument
                argument.withUTF8 { bytes in
                    out.header(UInt8(ascii: "$"), bytes.count)
                    out.copy(UnsafeRawBufferPointer(bytes))
                }
                out.crlf()
            }
            return size
        }
    }

    /// Appends a command whose arguments are already bytes (keys and values from the wire).
    public static func encode(_ arguments: [ByteBuffer], into buffer: inout ByteBuffer) {
        var size = headerSize(arguments.count)
        for argument in arguments { size += headerSize(argument.readableBytes) + argument.readableBytes + 2 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = Cursor(base: raw.baseAddress!)
            out.header(UInt8(ascii: "*"), arguments.count)
            for argument in arguments {
                out.header(UInt8(ascii: "$"), argument.readableBytes)
                argument.withUnsafeReadableBytes { out.copy($0) }
                out.crlf()
            }
            return size
        }
    }

    /// Bytes of `Xcount\r\n`.
    private static func headerSize(_ count: Int) -> Int {
        var digits = 1
        var n = count
        while n >= 10 { n /= 10; digits += 1 }
        return 1 + digits + 2
    }

    /// A write position in reserved memory.
    private struct Cursor {
        var base: UnsafeMutableRawPointer

        mutating func byte(_ b: UInt8) {
            base.storeBytes(of: b, as: UInt8.self)
            base += 1
        }

        mutating func crlf() {
            byte(13)
            byte(10)
        }

        mutating func copy(_ bytes: UnsafeRawBufferPointer) {
            guard let source = bytes.baseAddress, bytes.count > 0 else { return }
            base.copyMemory(from: source, byteCount: bytes.count)
            base += bytes.count
        }

        mutating func header(_ type: UInt8, _ count: Int) {
            precondition(count >= 0)
            byte(type)
            let digits = headerSize(count) - 3
            var n = count
            var i = digits - 1
            while i >= 0 {
                (base + i).storeBytes(of: UInt8(48 + n % 10), as: UInt8.self)
                n /= 10
                i -= 1
            }
            base += digits
            crlf()
        }
    }
}

/// An argument type the command encoder can write: `String` or `ByteBuffer`.
public protocol RedisEncodable: RedisArgument, Sendable {
    /// Appends one command made of these arguments.
    static func encode(_ arguments: [Self], into buffer: inout ByteBuffer)
}

extension String: RedisEncodable {
    public static func encode(_ arguments: [String], into buffer: inout ByteBuffer) {
        RESPCommandEncoder.encode(arguments, into: &buffer)
    }
}

extension ByteBuffer: RedisEncodable {
    public static func encode(_ arguments: [ByteBuffer], into buffer: inout ByteBuffer) {
        RESPCommandEncoder.encode(arguments, into: &buffer)
    }
}

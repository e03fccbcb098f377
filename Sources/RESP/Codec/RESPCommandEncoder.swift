public import NIOCore

/// Writes commands as RESP arrays of bulk strings, straight into a buffer.
public enum RESPCommandEncoder {
    /// Appends `*N\r\n` then `$len\r\narg\r\n` per argument (UTF-8 bytes, no copies into temporary Strings).
    public static func encode(_ arguments: [String], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            var argument = argument
            argument.withUTF8 { bytes in
                writeHeader(UInt8(ascii: "$"), bytes.count, into: &buffer)
                buffer.writeBytes(bytes)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// Appends a command whose arguments are already bytes (keys and values from the wire).
    public static func encode(_ arguments: [ByteBuffer], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    private static func writeHeader(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        writeDecimal(count, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        precondition(value >= 0)
        if value < 10 {
            buffer.writeInteger(UInt8(48 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while n > 0 {
                raw[19 - count] = UInt8(48 + n % 10)
                n /= 10
                count += 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
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

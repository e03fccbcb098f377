import Foundation
import NIOCore
import RESP
import Testing

/// Replies covering every RESP2 and RESP3 type, with their decoded values.
let corpus: [(String, RESPValue)] = [
    ("+OK\r\n", .simpleString(ByteBuffer(string: "OK"))),
    ("-ERR unknown command\r\n", .simpleError(ByteBuffer(string: "ERR unknown command"))),
    (":1000\r\n", .integer(1000)),
    (":-42\r\n", .integer(-42)),
    ("$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
    ("$0\r\n\r\n", .bulkString(ByteBuffer())),
    ("$4\r\na\r\nb\r\n", .bulkString(ByteBuffer(string: "a\r\nb"))),
    ("$-1\r\n", .null),
    ("*-1\r\n", .null),
    ("_\r\n", .null),
    ("*2\r\n$3\r\nfoo\r\n:7\r\n", .array([.bulkString(ByteBuffer(string: "foo")), .integer(7)])),
    ("*0\r\n", .array([])),
    ("*2\r\n*1\r\n+a\r\n*0\r\n", .array([.array([.simpleString(ByteBuffer(string: "a"))]), .array([])])),
    (",3.25\r\n", .double(3.25)),
    (",inf\r\n", .double(.infinity)),
    (",-inf\r\n", .double(-.infinity)),
    (",nan\r\n", .double(.nan)),
    (",1e10\r\n", .double(1e10)),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", ByteBuffer(string: "Some string"))),
    ("!21\r\nSYNTAX invalid syntax\r\n", .bulkError(ByteBuffer(string: "SYNTAX invalid syntax"))),
    ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([
        (.simpleString(ByteBuffer(string: "first")), .integer(1)),
        (.simpleString(ByteBuffer(string: "second")), .integer(2)),
    ])),
    ("~2\r\n+a\r\n+b\r\n", .set([.simpleString(ByteBuffer(string: "a")), .simpleString(ByteBuffer(string: "b"))])),
    (">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n", .push([
        .simpleString(ByteBuffer(string: "message")), .simpleString(ByteBuffer(string: "ch")), .bulkString(ByteBuffer(string: "hi")),
    ])),
    ("|1\r\n+ttl\r\n:3600\r\n+value\r\n", .attributed([(.simpleString(ByteBuffer(string: "ttl")), .integer(3600))],
                                                     .simpleString(ByteBuffer(string: "value")))),
]

@Suite("RESP token parsing")
struct RESPTokenTests {
    @Test("every corpus reply decodes to its value", arguments: corpus.indices)
    func decodes(index: Int) throws {
        let (wire, expected) = corpus[index]
        var buffer = ByteBuffer(string: wire)
        let token = try #require(try RESPToken.parse(from: &buffer))
        #expect(token.value == expected, "\(wire.debugDescription)")
        #expect(buffer.readableBytes == 0)
        #expect(token.base == ByteBuffer(string: wire))
    }

    @Test("the whole corpus split at every byte decodes the same")
    func everySplitPoint() throws {
        let stream = corpus.map(\.0).joined()
        let bytes = Array(stream.utf8)
        for split in 0...bytes.count {
            var decoder = RESPTokenDecoder()
            var buffer = ByteBuffer(bytes: bytes[0..<split])
            var values: [RESPValue] = []
            while let token = try decoder.decode(buffer: &buffer) { values.append(token.value) }
            buffer.discardReadBytes()
            buffer.writeBytes(bytes[split...])
            while let token = try decoder.decode(buffer: &buffer) { values.append(token.value) }
            #expect(values.count == corpus.count, "split at \(split)")
            #expect(values == corpus.map(\.1), "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("an incomplete value consumes nothing", arguments: ["$5\r\nhel", "*2\r\n:1\r\n", "+OK", "+OK\r", "%1\r\n+k\r\n", "|1\r\n+a\r\n:1\r\n"])
    func incomplete(wire: String) throws {
        var buffer = ByteBuffer(string: wire)
        #expect(try RESPToken.parse(from: &buffer) == nil)
        #expect(buffer.readableBytes == wire.utf8.count)
    }

    @Test("malformed input is a typed error naming the offset", arguments: [
        ("?x\r\n", RESPParsingError(.unknownType(UInt8(ascii: "?")), at: 0)),
        (":12a\r\n", RESPParsingError(.malformedInteger, at: 1)),
        ("$x\r\n", RESPParsingError(.malformedLength, at: 1)),
        ("$-2\r\n", RESPParsingError(.malformedLength, at: 1)),
        ("$3\r\nabcd\r\n", RESPParsingError(.missingCRLF, at: 7)),
        ("#x\r\n", RESPParsingError(.malformedBoolean, at: 1)),
        (",abc\r\n", RESPParsingError(.malformedDouble, at: 1)),
        ("*1\r\n?\r\n", RESPParsingError(.unknownType(UInt8(ascii: "?")), at: 4)),
        ("%-1\r\n", RESPParsingError(.malformedLength, at: 1)),
        (":99999999999999999999\r\n", RESPParsingError(.malformedInteger, at: 1)),
        // Found by the fuzzer: a lone CR or LF inside a line.
        ("%1\r\n+k\r\n%1\r\n+k\r\u{7f}\r\n", RESPParsingError(.missingCRLF, at: 14)),
        ("+a\nb\r\n", RESPParsingError(.missingCRLF, at: 2)),
    ])
    func malformed(wire: String, error: RESPParsingError) {
        var buffer = ByteBuffer(string: wire)
        #expect(throws: error) { try RESPToken.parse(from: &buffer) }
    }

    @Test("limits: bulk length, aggregate length and depth are checked before buffering")
    func limits() {
        let limits = RESPLimits(maxBulkLength: 10, maxAggregateLength: 3, maxDepth: 2)
        var bulk = ByteBuffer(string: "$11\r\n")  // the payload has not even arrived
        #expect(throws: RESPParsingError(.bulkTooLong(11, limit: 10), at: 1)) { try RESPToken.parse(from: &bulk, limits: limits) }
        var huge = ByteBuffer(string: "$9999999999\r\n")
        #expect(throws: RESPParsingError(.bulkTooLong(9_999_999_999, limit: 512 << 20), at: 1)) { try RESPToken.parse(from: &huge) }
        var aggregate = ByteBuffer(string: "*4\r\n")
        #expect(throws: RESPParsingError(.aggregateTooLong(4, limit: 3), at: 1)) { try RESPToken.parse(from: &aggregate, limits: limits) }
        var deep = ByteBuffer(string: "*1\r\n*1\r\n*1\r\n:1\r\n")
        #expect(throws: RESPParsingError(.tooDeep(limit: 2), at: 8)) { try RESPToken.parse(from: &deep, limits: limits) }
        var chained = ByteBuffer(string: String(repeating: "|0\r\n", count: 100_000) + ":1\r\n")
        #expect(throws: RESPParsingError(.tooDeep(limit: 64), at: 256)) { try RESPToken.parse(from: &chained) }
        var ok = ByteBuffer(string: "*1\r\n*1\r\n:1\r\n")
        #expect((try? RESPToken.parse(from: &ok, limits: limits)) != nil)
    }

    @Test("error replies are recognised from the type byte")
    func errorMessages() throws {
        for (wire, message) in [("-NOPERM no\r\n", "NOPERM no"), ("!3\r\nERR\r\n", "ERR"), ("+OK\r\n", nil), ("*0\r\n", nil)] {
            var buffer = ByteBuffer(string: wire)
            #expect(try #require(try RESPToken.parse(from: &buffer)).errorMessage == message, "\(wire.debugDescription)")
        }
    }

    @Test("errors describe themselves for operators")
    func description() {
        #expect(RESPParsingError(.missingCRLF, at: 7).description == "RESP protocol error at offset 7: expected CRLF")
    }
}

@Suite("RESP command encoding")
struct RESPCommandEncoderTests {
    @Test("commands are arrays of bulk strings, byte exact")
    func encodes() throws {
        var buffer = ByteBuffer()
        RESPCommandEncoder.encode(["SET", "key", "välue", String(repeating: "x", count: 12)], into: &buffer)
        #expect(String(buffer: buffer) == "*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$6\r\nvälue\r\n$12\r\nxxxxxxxxxxxx\r\n")
        var raw = ByteBuffer()
        RESPCommandEncoder.encode([ByteBuffer(string: "GET"), ByteBuffer(bytes: [0, 13, 10])], into: &raw)
        #expect(Array(raw.readableBytesView) == Array("*2\r\n$3\r\nGET\r\n$3\r\n".utf8) + [0, 13, 10] + Array("\r\n".utf8))
        // What we encode, we parse back.
        let token = try #require(try RESPToken.parse(from: &buffer))
        #expect(token.value == .array([.bulkString(ByteBuffer(string: "SET")), .bulkString(ByteBuffer(string: "key")),
                                       .bulkString(ByteBuffer(string: "välue")), .bulkString(ByteBuffer(string: String(repeating: "x", count: 12)))]))
    }

    @Test("lengths across digit boundaries, empty arguments, appended after existing bytes")
    func lengths() throws {
        let sizes = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 10_000, 100_000]
        let arguments = sizes.map { String(repeating: "a", count: $0) }
        let expected = "*\(sizes.count)\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        var buffer = ByteBuffer(string: "prefix")
        RESPCommandEncoder.encode(arguments, into: &buffer)
        #expect(String(buffer: buffer) == "prefix" + expected)
        var raw = ByteBuffer()
        RESPCommandEncoder.encode(arguments.map { ByteBuffer(string: $0) }, into: &raw)
        #expect(String(buffer: raw) == expected)
        var many = ByteBuffer()
        RESPCommandEncoder.encode(Array(repeating: "x", count: 12_345), into: &many)
        #expect(String(buffer: many).hasPrefix("*12345\r\n$1\r\nx\r\n"))
        #expect(many.readableBytes == 8 + 12_345 * 7)
    }
}

@Suite("Resumable parsing")
struct ResumableParsingTests {
    @Test("the corpus fed one byte at a time decodes the same")
    func byteByByte() throws {
        let bytes = Array(corpus.map(\.0).joined().utf8)
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in bytes {
            buffer.writeInteger(byte)
            while let token = try decoder.decode(buffer: &buffer) { values.append(token.value) }
        }
        #expect(values == corpus.map(\.1))
        #expect(buffer.readableBytes == 0)
    }

    @Test("a large aggregate arriving in pieces is validated once: progress moves forward")
    func progressMoves() throws {
        var wire = "*1000\r\n"
        for i in 0..<1000 { wire += "$5\r\nv\(String(format: "%04d", i))\r\n" }
        let bytes = Array(wire.utf8)
        var progress = RESPParseProgress()
        var buffer = ByteBuffer()
        var token: RESPToken?
        var chunks = 0
        for start in stride(from: 0, to: bytes.count, by: 100) {
            buffer.writeBytes(bytes[start..<min(start + 100, bytes.count)])
            token = try RESPToken.parse(from: &buffer, limits: .init(), progress: &progress)
            chunks += 1
            if token == nil {
                // Resumes at the first element it has not finished, never behind the bytes it already had.
                #expect(progress.validatedBytes > start + 100 - 12, "chunk \(chunks)")
            }
        }
        let value = try #require(token).value
        #expect(value.elements?.count == 1000)
        #expect(value.elements?.last == .bulkString(ByteBuffer(string: "v0999")))
    }

    @Test("an error found after resuming names its absolute offset")
    func errorAfterResume() throws {
        var progress = RESPParseProgress()
        var buffer = ByteBuffer(string: "*3\r\n:1\r\n:2\r\n")
        #expect(try RESPToken.parse(from: &buffer, limits: .init(), progress: &progress) == nil)
        buffer.writeString(":x\r\n")
        #expect(throws: RESPParsingError(.malformedInteger, at: 13)) {
            try RESPToken.parse(from: &buffer, limits: .init(), progress: &progress)
        }
    }
}

import NIOCore
import NIOEmbedded
import RESP
import Testing

@Suite("RedisChannelHandler framing on an embedded channel")
struct RedisChannelHandlerTests {
    func request(_ channel: EmbeddedChannel, count: Int) throws -> [EventLoopFuture<RESPToken>] {
        let promises = (0..<count).map { _ in channel.eventLoop.makePromise(of: RESPToken.self) }
        try channel.writeOutbound(RedisRequest(bytes: ByteBuffer(string: "x"), promises: promises))
        return promises.map(\.futureResult)
    }

    @Test("replies split at every byte and glued together are matched in order")
    func framing() throws {
        let wire = "+OK\r\n:42\r\n*2\r\n$1\r\na\r\n%1\r\n+k\r\n_\r\n$-1\r\n"
        let bytes = Array(wire.utf8)
        for chunk in 1...bytes.count {
            let channel = EmbeddedChannel(handler: RedisChannelHandler())
            let replies = try request(channel, count: 4)
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                try channel.writeInbound(ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]))
            }
            let values = try replies.map { try $0.wait().value }
            let expected: [RESPValue] = [
                .simpleString(ByteBuffer(string: "OK")), .integer(42),
                .array([.bulkString(ByteBuffer(string: "a")), .map([(.simpleString(ByteBuffer(string: "k")), .null)])]),
                .null,
            ]
            #expect(values == expected, "chunk \(chunk)")
            _ = try? channel.finish()
        }
    }

    @Test("a callback that closes the channel stops the framing; the rest fail as closed")
    func closeFromCallback() throws {
        let channel = EmbeddedChannel(handler: RedisChannelHandler())
        let replies = try request(channel, count: 3)
        replies[0].whenSuccess { _ in channel.close(promise: nil) }
        try? channel.writeInbound(ByteBuffer(string: ":1\r\n:2\r\n:3\r\n"))
        #expect(try replies[0].wait().value == .integer(1))
        #expect(throws: RedisClientError.connectionClosed) { try replies[1].wait() }
        #expect(throws: RedisClientError.connectionClosed) { try replies[2].wait() }
    }

    @Test("garbage fails every pending command with the parse error and closes")
    func garbage() throws {
        let channel = EmbeddedChannel(handler: RedisChannelHandler())
        let replies = try request(channel, count: 2)
        try? channel.writeInbound(ByteBuffer(string: ":1\r\n?oops\r\n"))
        #expect(try replies[0].wait().value == .integer(1))
        #expect(throws: RedisClientError.protocolError(RESPParsingError(.unknownType(UInt8(ascii: "?")), at: 0))) {
            try replies[1].wait()
        }
        #expect(!channel.isActive)
    }
}

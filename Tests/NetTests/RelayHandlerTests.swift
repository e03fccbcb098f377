import Net
import NIOCore
import NIOEmbedded
import Testing

@Suite("relay handler on embedded channels")
struct RelayHandlerTests {
    private func connectedPair() throws -> (EmbeddedEventLoop, EmbeddedChannel, EmbeddedChannel) {
        let loop = EmbeddedEventLoop()
        let client = EmbeddedChannel(loop: loop)
        let upstream = EmbeddedChannel(loop: loop)
        let pair = RelayHandler.matchedPair()
        try client.pipeline.syncOperations.addHandler(pair.client)
        try upstream.pipeline.syncOperations.addHandler(pair.upstream)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        try client.connect(to: address).wait()
        try upstream.connect(to: address).wait()
        return (loop, client, upstream)
    }

    @Test("bytes read on one side are written to the other")
    func forwards() throws {
        let (_, client, upstream) = try connectedPair()
        try client.writeInbound(ByteBuffer(string: "PING\r\n"))
        client.pipeline.fireChannelReadComplete()
        #expect(try upstream.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "PING\r\n"))
        try upstream.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        upstream.pipeline.fireChannelReadComplete()
        #expect(try client.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "+PONG\r\n"))
    }

    @Test("a read is held back while the other side is not writable")
    func backpressure() throws {
        let (_, client, upstream) = try connectedPair()
        let reads = ReadCounter()
        try client.pipeline.syncOperations.addHandler(reads, position: .first)
        upstream.isWritable = false
        client.read()
        #expect(reads.count == 0)
        upstream.isWritable = true
        upstream.pipeline.fireChannelWritabilityChanged()
        #expect(reads.count == 1)
        client.read()
        #expect(reads.count == 2)
    }

    @Test("one side closing closes the other")
    func closePropagates() throws {
        let (_, client, upstream) = try connectedPair()
        try upstream.close().wait()
        #expect(!client.isActive)
    }

    @Test("end of input on one side shuts the other's output")
    func halfClosePropagates() throws {
        let (_, client, upstream) = try connectedPair()
        let closes = CloseRecorder()
        try upstream.pipeline.syncOperations.addHandler(closes, position: .first)
        client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(closes.modes == [.output])
        #expect(upstream.isActive)
    }
}

final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var count = 0
    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}

final class CloseRecorder: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var modes: [CloseMode] = []
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        modes.append(mode)
        if mode == .output {
            promise?.succeed()  // EmbeddedChannel has no half-close; record it and stop here
        } else {
            context.close(mode: mode, promise: promise)
        }
    }
}

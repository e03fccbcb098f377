import Net
import NetTestSupport
import NIOCore
import NIOEmbedded
import Testing

@Suite("relay handler on embedded channels")
struct RelayHandlerTests {
    private func connectedPair() throws -> (EmbeddedEventLoop, EmbeddedChannel, EmbeddedChannel) {
        try makeEmbeddedRelay()
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

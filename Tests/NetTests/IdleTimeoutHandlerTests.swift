import Net
import NIOCore
import NIOEmbedded
import Testing

@Suite("idle timeout handler")
struct IdleTimeoutHandlerTests {
    @Test("closes after the timeout without traffic, not before; traffic postpones it")
    func closesWhenIdle() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(IdleTimeoutHandler(timeout: .seconds(10)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        loop.advanceTime(by: .seconds(6))
        try channel.writeInbound(ByteBuffer(string: "x"))  // activity at t=6
        loop.advanceTime(by: .seconds(6))                   // t=12: idle for 6 only
        #expect(channel.isActive)
        try channel.writeOutbound(ByteBuffer(string: "y"))  // activity at t=12
        loop.advanceTime(by: .seconds(9))                   // t=21
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(2))                   // t=23: idle 11 s
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }
}

public import NIOCore

/// Ends a connection politely: writes a last message, ends the output
/// (FIN), then reads and drops whatever the peer still sends until it
/// closes or `linger` passes, and closes. Closing a socket with unread input
/// makes the kernel send a reset, which can destroy the last message before
/// the peer reads it; this "lingering close" avoids that.
public enum Farewell {
    /// Call on the channel's event loop.
    public static func send(_ message: ByteBuffer?, on channel: any Channel, linger: TimeAmount = .seconds(2)) {
        channel.eventLoop.preconditionInEventLoop()
        do {
            try channel.pipeline.syncOperations.addHandler(InputDiscarder(linger: linger), position: .first)
        } catch {
            channel.close(promise: nil)
            return
        }
        let done: EventLoopFuture<Void> = message.map { channel.writeAndFlush(NIOAny($0)) } ?? channel.eventLoop.makeSucceededVoidFuture()
        done.whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        }
        try? channel.syncOptions?.setOption(.autoRead, value: true)
        channel.read()
    }
}

/// Drops all input, closes at the peer's end of input or after `linger`.
final class InputDiscarder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let linger: TimeAmount
    private var timer: Scheduled<Void>?

    init(linger: TimeAmount) {
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

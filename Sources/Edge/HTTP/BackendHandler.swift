import NIOCore

/// The backend side of one proxied request: hands the response's bytes to the
/// client side (same event loop) and reports the backend's writability.
final class BackendHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    /// The client side being served; nil while the connection waits in the pool.
    weak var proxy: ProxyHandler?
    private let pool: BackendPool
    /// Its connection (set once in the pipeline).
    private(set) var channel: (any Channel)?
    /// Its place in that pipeline: what the proxy sends starts here (not at the pipeline's tail).
    private var context: ChannelHandlerContext?
    /// Whether the connection reads (false: paused for a client that cannot take more).
    private var reading = true

    init(proxy: ProxyHandler, pool: BackendPool) {
        self.proxy = proxy
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes request bytes to the backend (flushed when `flush`).
    func send(_ bytes: ByteBuffer, flush: Bool) {
        guard let context else {  // out of the pipeline (a tunnel): through the channel
            if flush { channel?.writeAndFlush(bytes, promise: nil) } else { channel?.write(bytes, promise: nil) }
            return
        }
        if flush { context.writeAndFlush(NIOAny(bytes), promise: nil) } else { context.write(NIOAny(bytes), promise: nil) }
    }

    /// Flushes what ``send(_:flush:)`` wrote.
    func flush() {
        if let context { context.flush() } else { channel?.flush() }
    }

    /// Pauses or resumes reading the backend; a no-op (no syscall) when nothing changes.
    func setReading(_ on: Bool) {
        guard on != reading, let channel else { return }
        reading = on
        if let options = channel.syncOptions { try? options.setOption(ChannelOptions.autoRead, value: on) } else {
            channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let proxy else {
            context.close(promise: nil)  // a response nobody asked for, while idle
            return
        }
        proxy.backendRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) { proxy?.backendReadComplete() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        proxy?.backendWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let proxy { proxy.backendClosed(context.channel) } else { pool.remove(self) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

import NIOCore
import NIOHTTP1

/// The backend side of one proxied request: hands response parts to the
/// client side (same event loop) and reports the backend's writability.
final class BackendHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = HTTPClientResponsePart
    /// The client side being served; nil while the connection waits in the pool.
    weak var proxy: ProxyHandler?
    private let pool: BackendPool

    init(proxy: ProxyHandler, pool: BackendPool) {
        self.proxy = proxy
        self.pool = pool
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
        if let proxy { proxy.backendClosed(context.channel) } else { pool.remove(context.channel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

import NIOCore
import NIOHTTP1

/// The backend side of one proxied request: hands response parts to the
/// client side (same event loop) and reports the backend's writability.
final class BackendHandler: ChannelInboundHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = HTTPClientResponsePart
    private weak var proxy: ProxyHandler?

    init(proxy: ProxyHandler) { self.proxy = proxy }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        proxy?.backendRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) { proxy?.backendReadComplete() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        proxy?.backendWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy?.backendClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

import Net
import NIOCore

/// Websocket (any HTTP/1.1 `Upgrade`) pass-through: once the backend has
/// answered 101, both connections stop speaking HTTP and become one byte
/// relay (Net's ``RelayHandler``: backpressure both ways, half-close, a
/// close on one side delivered to the other). ``ProxyHandler`` has passed on
/// the bytes either side sent right after the handshake before this.
enum UpgradeTunnel {
    /// Puts a relay pair behind the client's ``ProxyHandler`` and the backend's ``BackendHandler``
    /// (same event loop), then takes those two out.
    static func start(client: ChannelHandlerContext, backend: any Channel) throws {
        let (clientSide, backendSide) = RelayHandler.matchedPair()
        let c = client.pipeline.syncOperations, b = backend.pipeline.syncOperations
        try c.addHandler(clientSide)
        try b.addHandler(backendSide)
        b.removeHandler(context: try b.context(handlerType: BackendHandler.self), promise: nil)
        c.removeHandler(context: client, promise: nil)
        for channel in [client.channel, backend] {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            channel.read()
        }
    }
}

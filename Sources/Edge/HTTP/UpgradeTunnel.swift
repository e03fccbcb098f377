import Net
import NIOCore
import NIOHTTP1

/// Websocket (any HTTP/1.1 `Upgrade`) pass-through: once the backend has
/// answered 101, both connections stop speaking HTTP and become one byte
/// relay (Net's ``RelayHandler``: backpressure both ways, half-close, a
/// close on one side delivered to the other). Bytes either side had sent
/// right after the handshake are forwarded, not lost: both HTTP decoders are
/// made with `leftOverBytesStrategy: .forwardBytes`.
enum UpgradeTunnel {
    /// Whether a request asks to switch protocols (HTTP/1.1 `Connection: upgrade` with an `Upgrade` header).
    static func isUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.version == .http1_1 && !head.headers["upgrade"].isEmpty
            && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// The client's HTTP/1.1 server handlers: NIO's encoder and decoder (keeping bytes read past an
    /// upgrade request). Pipelining, 400 on malformed requests and graceful quiescing are
    /// ``ProxyHandler``'s (one handler less on every message), and there is no outbound header validator: response
    /// headers come from a backend response NIO parsed (no CR/LF can be in them) and the edge's own values.
    static func addServerHandlers(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHandler(HTTPResponseEncoder())
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
    }

    /// Replaces the HTTP handlers of both channels (same event loop) by a relay pair.
    /// The client's ``ProxyHandler`` and the backend's ``BackendHandler`` leave their pipelines too.
    static func start(client: ChannelHandlerContext, backend: any Channel) throws {
        let (clientSide, backendSide) = RelayHandler.matchedPair()
        let c = client.pipeline.syncOperations, b = backend.pipeline.syncOperations
        try c.addHandler(clientSide)
        try b.addHandler(backendSide)
        // A decoder's left-over bytes reach the relay as a read without a read-complete: flush them
        // once it has left (its removal may finish after this returns).
        let clientChannel = client.channel
        func remove<H: ChannelHandler>(_ type: H.Type, _ p: ChannelPipeline.SynchronousOperations) throws {
            let removed = clientChannel.eventLoop.makePromise(of: Void.self)
            p.removeHandler(context: try p.context(handlerType: type), promise: removed)
            removed.futureResult.whenComplete { _ in
                clientChannel.flush()
                backend.flush()
            }
        }
        // Decoders last: removing one forwards the bytes it held to the relay behind it.
        try remove(BackendHandler.self, b)
        try remove(HTTPRequestEncoder.self, b)
        try remove(ByteToMessageHandler<HTTPResponseDecoder>.self, b)
        try remove(ProxyHandler.self, c)
        try remove(HTTPResponseEncoder.self, c)
        try remove(ByteToMessageHandler<HTTPRequestDecoder>.self, c)
        for channel in [client.channel, backend] {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            channel.read()
        }
    }
}

public import Logging
public import NIOCore

/// Connects the upstream when a client arrives, then hands both channels to
/// a relay pair and steps aside. Services give the connect step (endpoint
/// choice, TLS), handlers to put in front of the relay on each side (e.g.
/// a protocol framer), and what to tell a client no upstream would take.
///
/// The client channel starts with reads off, but NIO still reads eagerly when
/// the client half-closes early (it drains input up to the EOF), so bytes and
/// the end-of-input that arrive before the upstream is ready are held here
/// (up to `maxEarlyBytes`) and replayed into the relay.
public final class UpstreamRelaySetup: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    /// Handlers for the client and the upstream pipeline, placed before the relay.
    public typealias Handlers = (client: [any ChannelHandler], upstream: [any ChannelHandler])

    private let maxEarlyBytes: Int
    private let connect: @Sendable (any EventLoop) -> EventLoopFuture<(channel: any Channel, endpoint: Endpoint)>
    private let observer: (any RelayObserver)?
    private let handlers: @Sendable (Endpoint) -> Handlers
    private let failed: @Sendable (any Error) -> ByteBuffer?
    private let logger: Logger
    private var clientGone = false
    private var early: [ByteBuffer] = []
    private var earlyBytes = 0
    private var earlyInputClosed = false

    /// - Parameters:
    ///   - connect: opens the upstream on the client's event loop.
    ///   - handlers: made once the upstream is known, installed in front of the relay.
    ///   - failed: called when no upstream could be had; bytes it returns are written to the client before it is closed.
    public init(connect: @escaping @Sendable (any EventLoop) -> EventLoopFuture<(channel: any Channel, endpoint: Endpoint)>,
                observer: (any RelayObserver)?, maxEarlyBytes: Int, logger: Logger,
                handlers: @escaping @Sendable (Endpoint) -> Handlers = { _ in ([], []) },
                failed: @escaping @Sendable (any Error) -> ByteBuffer? = { _ in nil }) {
        self.connect = connect
        self.observer = observer
        self.maxEarlyBytes = maxEarlyBytes
        self.handlers = handlers
        self.failed = failed
        self.logger = logger
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        connect(context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            handler.upstreamResult(result, context: context)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        earlyBytes += buffer.readableBytes
        guard earlyBytes <= maxEarlyBytes else {
            logger.warning("client sent more than \(maxEarlyBytes) bytes before its upstream was ready, closing it",
                           metadata: ["client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
            early = []
            context.close(promise: nil)
            return
        }
        early.append(buffer)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            earlyInputClosed = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        clientGone = true
        context.fireChannelInactive()
    }

    private func upstreamResult(_ result: Result<(channel: any Channel, endpoint: Endpoint), any Error>,
                                context: ChannelHandlerContext) {
        switch result {
        case .failure(let error):
            logger.error("no upstream for client, closing it", metadata: [
                "client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "error": "\(error)",
            ])
            if let farewell = failed(error), context.channel.isActive {
                early = []
                Farewell.send(farewell, on: context.channel)
            } else {
                context.close(promise: nil)
            }
        case .success(let (upstream, endpoint)):
            guard !clientGone, context.channel.isActive else {
                upstream.close(promise: nil)
                return
            }
            let pair = RelayHandler.matchedPair(observer: observer)
            let extra = handlers(endpoint)
            do {
                try upstream.pipeline.syncOperations.addHandlers(extra.upstream + [pair.upstream])
                try context.pipeline.syncOperations.addHandlers(extra.client + [pair.client], position: .after(self))
                try upstream.syncOptions?.setOption(.autoRead, value: true)
            } catch {
                logger.error("cannot set up relay", metadata: ["error": "\(error)"])
                upstream.close(promise: nil)
                context.close(promise: nil)
                return
            }
            logger.debug("relaying", metadata: [
                "client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "upstream": "\(endpoint)",
            ])
            replayEarlyInput(context: context)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    private func replayEarlyInput(context: ChannelHandlerContext) {
        if !early.isEmpty {
            for buffer in early { context.fireChannelRead(wrapInboundOut(buffer)) }
            early = []
            context.fireChannelReadComplete()
        }
        if earlyInputClosed {
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        } else {
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}


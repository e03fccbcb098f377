public import Net
public import NIOCore
public import Logging
import Metrics
public import ServiceLifecycle

/// A generic L4 proxy built from Net: a listener, an upstream connector and
/// a relay per connection. Runs as a swift-service-lifecycle service: ready
/// once bound, graceful drain on shutdown.
public final class TCPProxyService: Service, Sendable {
    /// The configuration the proxy runs with.
    public let configuration: TCPProxyConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let connector: UpstreamConnector

    /// Creates the service.
    /// - Throws: ``UpstreamError`` when the upstream settings are unusable (no endpoint, bad CA file).
    public init(configuration: TCPProxyConfiguration, group: any EventLoopGroup, logger: Logger) throws(UpstreamError) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.connector = try UpstreamConnector(configuration.upstream, logger: logger)
    }

    /// Binds the listener and starts relaying; returns the listener so the
    /// caller can read its address, counters, or drain it.
    public func start() async throws(ListenerError) -> Listener {
        let connector = self.connector
        let logger = self.logger
        let metrics = TCPProxyMetrics(name: configuration.listener.name)
        let maxEarlyBytes = configuration.maxEarlyBytes
        return try await Listener.start(configuration.listener, group: group, logger: logger) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    UpstreamConnectHandler(connector: connector, metrics: metrics, maxEarlyBytes: maxEarlyBytes, logger: logger))
            }
        }
    }

    /// Runs until graceful shutdown (SIGTERM/SIGINT through the service group):
    /// notifies systemd `READY=1`, then `STOPPING=1` and drains.
    public func run() async throws {
        let listener = try await start()
        let upstreams = configuration.upstream.endpoints.map(\.description).joined(separator: ",")
        SystemdNotifier.ready(status: "relaying \(listener.localAddress.map { "\($0)" } ?? "?") to \(upstreams)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await SystemdWatchdog.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        SystemdNotifier.stopping(status: "draining \(listener.registry.activeCount) connections")
        let forced = await listener.drain(deadline: configuration.drainTimeout)
        logger.info("stopped", metadata: ["closed_at_deadline": "\(forced)"])
    }
}

/// Connects the upstream when a client arrives, then hands both channels to
/// a relay pair and steps aside.
///
/// The client channel starts with reads off, but NIO still reads eagerly when
/// the client half-closes early (it drains input up to the EOF), so bytes and
/// the end-of-input that arrive before the upstream is ready are held here
/// (up to `maxEarlyBytes`) and replayed into the relay.
final class UpstreamConnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let maxEarlyBytes: Int
    private let connector: UpstreamConnector
    private let metrics: TCPProxyMetrics
    private let logger: Logger
    private var clientGone = false
    private var early: [ByteBuffer] = []
    private var earlyBytes = 0
    private var earlyInputClosed = false

    init(connector: UpstreamConnector, metrics: TCPProxyMetrics, maxEarlyBytes: Int, logger: Logger) {
        self.connector = connector
        self.maxEarlyBytes = maxEarlyBytes
        self.metrics = metrics
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        connector.connect(on: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            handler.upstreamResult(result, context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            earlyInputClosed = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientGone = true
        context.fireChannelInactive()
    }

    private func upstreamResult(_ result: Result<(channel: any Channel, endpoint: Endpoint), any Error>,
                                context: ChannelHandlerContext) {
        switch result {
        case .failure(let error):
            metrics.upstreamFailed()
            logger.error("no upstream for client, closing it", metadata: [
                "client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "error": "\(error)",
            ])
            context.close(promise: nil)
        case .success(let (upstream, endpoint)):
            guard !clientGone, context.channel.isActive else {
                upstream.close(promise: nil)
                return
            }
            let pair = RelayHandler.matchedPair(observer: metrics)
            do {
                try upstream.pipeline.syncOperations.addHandler(pair.upstream)
                try context.pipeline.syncOperations.addHandler(pair.client, position: .after(self))
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

/// Byte and failure counters of one proxy.
struct TCPProxyMetrics: RelayObserver {
    let toUpstream: Counter
    let toClient: Counter
    let upstreamFailures: Counter
    let relayErrors: Counter

    init(name: String) {
        toUpstream = Counter(label: "nscore_relay_bytes_total", dimensions: [("listener", name), ("direction", "to_upstream")])
        toClient = Counter(label: "nscore_relay_bytes_total", dimensions: [("listener", name), ("direction", "to_client")])
        upstreamFailures = Counter(label: "nscore_upstream_connect_failures_total", dimensions: [("listener", name)])
        relayErrors = Counter(label: "nscore_relay_errors_total", dimensions: [("listener", name)])
    }

    func relayed(bytes: Int, direction: RelayDirection) {
        (direction == .clientToUpstream ? toUpstream : toClient).increment(by: bytes)
    }

    func relayFailed(error: any Error, direction: RelayDirection) {
        relayErrors.increment()
    }

    func upstreamFailed() { upstreamFailures.increment() }
}

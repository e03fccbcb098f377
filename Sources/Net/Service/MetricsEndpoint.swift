public import NIOCore
import NIOPosix
import NIOHTTP1
public import Logging
import Metrics
public import Prometheus
public import ServiceLifecycle

/// Serves the Prometheus text exposition of a registry on `GET /metrics`
/// (HTTP/1.1, loopback by default). Runs as a lifecycle service.
public final class MetricsEndpoint: Service, Sendable {
    /// Registry whose metrics are served.
    public let registry: PrometheusCollectorRegistry
    private let endpoint: Endpoint
    private let group: any EventLoopGroup
    private let logger: Logger

    /// Creates the endpoint; nothing listens until ``run()``.
    public init(endpoint: Endpoint, registry: PrometheusCollectorRegistry, group: any EventLoopGroup, logger: Logger) {
        self.endpoint = endpoint
        self.registry = registry
        self.group = group
        self.logger = logger
    }

    /// Makes a registry the process-wide swift-metrics backend; call once at start.
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    public func run() async throws {
        let registry = self.registry
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
            .bind(host: endpoint.host, port: endpoint.port).get()
        logger.info("metrics endpoint listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let ok = head.method == .GET && (head.uri == "/metrics" || head.uri.hasPrefix("/metrics?"))
            var body = context.channel.allocator.buffer(capacity: 4096)
            if ok {
                body.writeBytes(registry.emitToBuffer())
            } else {
                body.writeString("not found: the metrics are at GET /metrics\n")
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: ok ? "text/plain; version=0.0.4" : "text/plain")
            headers.add(name: "Content-Length", value: "\(body.readableBytes)")
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(.init(version: head.version, status: ok ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                done.whenComplete { _ in ctx.value.close(promise: nil) }
            }
        }
    }
}

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
                    UpstreamRelaySetup(connect: { connector.connect(on: $0) }, observer: metrics, maxEarlyBytes: maxEarlyBytes,
                                       logger: logger, failed: { _ in metrics.upstreamFailed(); return nil }))
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

/// Byte and failure counters of one proxy.
final class TCPProxyMetrics: RelayObserver {
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

public import NIOCore
import NIOPosix
public import Logging
import Metrics

/// Settings of one listening socket.
public struct ListenerConfiguration: Sendable {
    /// Name used in logs and metric labels (e.g. `tcp-proxy`).
    public var name: String
    /// Address to bind, or a systemd-activated socket.
    public var address: ListenAddress
    /// Most connections open at once; beyond it new ones are closed at accept and counted.
    public var maxConnections: Int
    /// Close a connection idle (no read, no write) this long; nil for never.
    public var idleTimeout: TimeAmount?
    /// Whether accepted channels start reading at once; proxies set false
    /// and start reading once their upstream is connected.
    public var childAutoRead: Bool
    /// Kernel accept queue length.
    public var backlog: Int32

    /// Creates a listener configuration.
    public init(name: String, address: ListenAddress, maxConnections: Int = 10_000,
                idleTimeout: TimeAmount? = nil, childAutoRead: Bool = true, backlog: Int32 = 1024) {
        self.name = name
        self.address = address
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.childAutoRead = childAutoRead
        self.backlog = backlog
    }
}

/// A listening socket on SwiftNIO with a connection limit, an idle timeout
/// and a graceful drain. The service supplies what runs on each connection.
public final class Listener: Sendable {
    /// The configuration the listener was started with.
    public let configuration: ListenerConfiguration
    /// Live connections, limit and refusal count.
    public let registry: ConnectionRegistry
    private let serverChannel: any Channel
    private let logger: Logger

    /// The bound address (useful with port 0).
    public var localAddress: SocketAddress? { serverChannel.localAddress }

    private init(configuration: ListenerConfiguration, registry: ConnectionRegistry,
                 serverChannel: any Channel, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.serverChannel = serverChannel
        self.logger = logger
    }

    /// Binds (or adopts the systemd socket) and starts accepting.
    ///
    /// - Parameter childInitializer: sets up each admitted connection's pipeline.
    /// - Throws: ``ListenerError`` when the address cannot be bound or the systemd socket is missing.
    public static func start(
        _ configuration: ListenerConfiguration,
        group: any EventLoopGroup,
        logger: Logger,
        childInitializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws(ListenerError) -> Listener {
        var logger = logger
        logger[metadataKey: "listener"] = "\(configuration.name)"
        let registry = ConnectionRegistry(limit: configuration.maxConnections)
        let metrics = ListenerMetrics(name: configuration.name)
        let gateLogger = logger
        let idleTimeout = configuration.idleTimeout

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptGate(registry: registry, metrics: metrics, logger: gateLogger))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: configuration.childAutoRead)
            .childChannelOption(.recvAllocator, value: ChannelDefaults.recvAllocator)
            .childChannelInitializer { channel in
                metrics.opened()
                channel.closeFuture.whenComplete { _ in metrics.closed() }
                if let idleTimeout {
                    let timeoutLogger = gateLogger
                    do {
                        try channel.pipeline.syncOperations.addHandler(IdleTimeoutHandler(timeout: idleTimeout) { ch in
                            timeoutLogger.info("closing idle connection", metadata: [
                                "peer": "\(ch.remoteAddress.map { "\($0)" } ?? "?")",
                                "idle_timeout_ms": "\(idleTimeout.nanoseconds / 1_000_000)",
                            ])
                        })
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                return childInitializer(channel)
            }

        let channel: any Channel
        do {
            switch configuration.address {
            case .bind(let endpoint):
                channel = try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get()
            case .systemd(let index):
                let fds = SystemdSocketActivation.listenFDs()
                guard index < fds.count else {
                    throw ListenerError.noSystemdSocket(index: index, passed: fds.count)
                }
                channel = try await bootstrap.withBoundSocket(fds[index]).get()
            }
        } catch let error as ListenerError {
            throw error
        } catch {
            throw .bindFailed(configuration.address, reason: "\(error)")
        }
        logger.info("listening", metadata: [
            "address": "\(channel.localAddress.map { "\($0)" } ?? configuration.address.description)",
            "max_connections": "\(configuration.maxConnections)",
        ])
        return Listener(configuration: configuration, registry: registry, serverChannel: channel, logger: logger)
    }

    /// Graceful drain: stops accepting, tells each connection to finish
    /// (`ChannelShouldQuiesceEvent`), waits for them to close up to
    /// `deadline`, then closes what remains. Connections the kernel had completed but the
    /// listener not yet accepted are reset when the listening socket closes (as with nginx); under
    /// systemd socket activation the socket, and so that queue, outlives the process.
    /// - Returns: how many connections had to be closed at the deadline.
    @discardableResult
    public func drain(deadline: Duration) async -> Int {
        registry.startDraining()
        try? await serverChannel.close()
        let open = registry.channels
        logger.info("draining", metadata: ["open_connections": "\(open.count)", "deadline_s": "\(deadline)"])
        for ch in open {
            ch.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let registry = self.registry
        let logger = self.logger
        return await withTaskGroup(of: Int?.self) { group in
            group.addTask { await registry.waitUntilEmpty(); return nil }
            group.addTask {
                do { try await Task.sleep(for: deadline) } catch { return nil }
                let remaining = registry.channels
                logger.warning("drain deadline reached, closing connections", metadata: ["count": "\(remaining.count)"])
                for ch in remaining { ch.close(promise: nil) }
                return remaining.count
            }
            // Either everything closed in time (the timer is cancelled) or the
            // timer closed the rest, which lets the wait finish too.
            var forced = 0
            if let first = await group.next(), let count = first { forced = count }
            group.cancelAll()
            for await result in group { if let count = result { forced = count } }
            return forced
        }
    }

    /// Stops accepting; open connections go on until they end by themselves
    /// (a reload that removes what this listener served).
    public func stopAccepting() async {
        registry.startDraining()
        try? await serverChannel.close()
    }

    /// Stops accepting and closes every connection now.
    public func close() async {
        registry.startDraining()
        try? await serverChannel.close()
        for ch in registry.channels { try? await ch.close() }
    }
}

/// Why a listener could not start.
public enum ListenerError: Error, Sendable, CustomStringConvertible {
    case bindFailed(ListenAddress, reason: String)
    case noSystemdSocket(index: Int, passed: Int)

    public var description: String {
        switch self {
        case .bindFailed(let a, let reason):
            "cannot listen on \(a): \(reason) (is another process using the port?)"
        case .noSystemdSocket(let i, let n):
            "systemd socket \(i) requested but systemd passed \(n) (check the .socket unit and LISTEN_FDS)"
        }
    }
}

/// Admits or refuses each accepted connection before it is registered.
final class AcceptGate: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    private let registry: ConnectionRegistry
    private let metrics: ListenerMetrics
    private let logger: Logger
    private var lastRefusalLog = NIODeadline.distantPast
    private var unloggedRefusals = 0

    init(registry: ConnectionRegistry, metrics: ListenerMetrics, logger: Logger) {
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        let admission = registry.admit(child)
        guard admission != .admitted else {
            context.fireChannelRead(data)
            return
        }
        metrics.refused()
        child.close(promise: nil)
        unloggedRefusals += 1
        let now = NIODeadline.now()
        if now - lastRefusalLog >= .seconds(10) {  // at most one line per 10 s under a flood
            logger.warning("refusing connections", metadata: [
                "reason": admission == .draining ? "draining" : "connection limit \(registry.limit) reached",
                "refused_since_last_log": "\(unloggedRefusals)",
            ])
            lastRefusalLog = now
            unloggedRefusals = 0
        }
    }
}

/// Counters and a gauge per listener.
struct ListenerMetrics: Sendable {
    let accepted: Counter
    let refusedCounter: Counter
    let active: Meter

    init(name: String) {
        let dims = [("listener", name)]
        accepted = Counter(label: "nscore_connections_accepted_total", dimensions: dims)
        refusedCounter = Counter(label: "nscore_connections_refused_total", dimensions: dims)
        active = Meter(label: "nscore_connections_active", dimensions: dims)
    }

    func opened() { accepted.increment(); active.increment() }
    func closed() { active.decrement() }
    func refused() { refusedCounter.increment() }
}

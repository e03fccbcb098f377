import JSON
public import Logging
public import Net
public import NIOCore
import NIOPosix
import RESP
public import ServiceLifecycle
import Synchronization

/// `nscore resp-proxy`: one local Redis endpoint that sends each command to
/// the replica or the leader as the platform's ACL model says, for any
/// client. Runs as a swift-service-lifecycle service.
public final class RESPProxyService: Service, Sendable {
    public let configuration: RESPProxyConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let leader: LeaderAddress
    private let stats = ProxyStats()
    private let loops: LoopRegistry
    private let statusSocket: String?
    private let listenerBox = Mutex<Listener?>(nil)

    /// Creates the service; `statusSocket` is the Unix socket `nscore resp-proxy status` reads.
    public init(configuration: RESPProxyConfiguration, group: any EventLoopGroup, logger: Logger, statusSocket: String? = nil) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.statusSocket = statusSocket
        leader = LeaderAddress(configuration.leader)
        var upstreams: [ObjectIdentifier: LoopUpstreams] = [:]
        for loop in group.makeIterator() {
            upstreams[ObjectIdentifier(loop)] = LoopUpstreams(loop: loop, configuration: configuration, leader: leader,
                                                               stats: stats, logger: logger)
        }
        loops = LoopRegistry(upstreams)
    }

    /// The leader now (after `leader-changed` events and reloads).
    public var currentLeader: Endpoint { leader.endpoint }

    /// Points new leader traffic at `endpoint` (links to the old one finish and close).
    public func changeLeader(to endpoint: Endpoint, reason: String) {
        if leader.change(to: endpoint) {
            logger.notice("leader changed: new leader traffic goes to \(endpoint)", metadata: ["reason": "\(reason)"])
        }
    }

    /// Binds the listener (and the status socket) and starts proxying.
    public func start() async throws -> Listener {
        let loops = self.loops
        let logger = self.logger
        let stats = self.stats
        let listener = try await Listener.start(configuration.listener, group: group, logger: logger) { channel in
            channel.eventLoop.makeCompletedFuture {
                guard let upstreams = loops[channel.eventLoop] else { throw ChannelError.ioOnClosedChannel }
                let id = stats.nextSessionID()
                try channel.pipeline.syncOperations.addHandler(ProxySession(id: id, upstreams: upstreams, logger: logger))
            }
        }
        listenerBox.withLock { $0 = listener }
        if let statusSocket {
            do { try await StatusSocket.start(path: statusSocket, group: group) { await self.statusJSON() } } catch {
                logger.warning("no status socket: cannot listen on \(statusSocket): \(error) (nscore resp-proxy status will not work)")
            }
        }
        return listener
    }

    /// The status document (`nscore resp-proxy status`).
    public func statusJSON() async -> String {
        var links: [(key: String, use: String, inFlight: Int)] = []
        var leased = 0
        for (loop, upstreams) in loops.all {
            let (l, n) = (try? await loop.submit { (upstreams.snapshot(), upstreams.leasedCount) }.get()) ?? ([], 0)  // on its loop
            links += l
            leased += n
        }
        return stats.json(links: links, leased: leased, leader: "\(leader.endpoint)", replica: "\(configuration.replica)")
    }

    /// Follows `cluster/event/leader-changed` on the replica (payload `{"endpoint": "host:port", …}`).
    private func followLeaderChanges() async {
        let client = RedisClient(endpoint: RedisEndpoint(configuration.replica, configuration: .init(clientName: "resp-proxy")),
                                 group: group, poolSize: 1, logger: logger)
        defer { Task { await client.close() } }
        var failures = 0
        while !Task.isCancelled {
            do {
                let events = try await client.subscribe(channels: ["cluster/event/leader-changed"])
                failures = 0
                for await event in events {
                    guard case .message(_, let payload, _) = event else { continue }
                    guard case .string(let text)? = (try? JSONValue.parse(String(buffer: payload)))?["endpoint"],
                          let endpoint = try? Endpoint(parsing: text, defaultPort: 6379) else {
                        logger.warning("ignoring a leader-changed event without a usable endpoint", metadata: ["payload": "\(String(buffer: payload))"])
                        continue
                    }
                    changeLeader(to: endpoint, reason: "cluster/event/leader-changed")
                }
                if Task.isCancelled { return }
            } catch {
                failures += 1
                if failures == 1 { logger.warning("cannot follow leader-changed events on the replica yet: \(error); retrying") }
                try? await Task.sleep(for: .seconds(min(5, failures)))
            }
        }
    }

    /// Runs until graceful shutdown: READY, then STOPPING and a drain.
    public func run() async throws {
        let listener = try await start()
        SystemdNotifier.ready(status: "routing \(listener.localAddress.map { "\($0)" } ?? "?") to replica \(configuration.replica), leader \(leader.endpoint)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await SystemdWatchdog.run() }
            group.addTask { await self.followLeaderChanges() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        SystemdNotifier.stopping(status: "draining \(listener.registry.activeCount) clients")
        let forced = await listener.drain(deadline: configuration.drainTimeout)
        if let statusSocket { unlinkSocket(statusSocket) }
        logger.info("stopped", metadata: ["closed_at_deadline": "\(forced)"])
    }
}

/// The per-loop upstreams, each used only on its own loop (hence unchecked).
final class LoopRegistry: @unchecked Sendable {
    private let byLoop: [ObjectIdentifier: LoopUpstreams]

    init(_ byLoop: [ObjectIdentifier: LoopUpstreams]) {
        self.byLoop = byLoop
    }

    subscript(loop: any EventLoop) -> LoopUpstreams? { byLoop[ObjectIdentifier(loop)] }

    var all: [(any EventLoop, LoopUpstreams)] { byLoop.values.map { ($0.loop, $0) } }
}

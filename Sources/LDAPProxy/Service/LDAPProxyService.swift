import FoundationEssentials
public import Logging
public import Net
public import NIOCore
import RESP
public import ServiceLifecycle
import Synchronization

/// `nscore ldapproxy`: a fixed clear-text endpoint on loopback per user
/// domain (and the default domain on 3890), relayed to a healthy provider
/// of the domain over TLS where it asks for it (LDAP-PROXY.md).
public final class LDAPProxyService: Service, Sendable {
    public let configuration: LDAPProxyConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let health: ProviderHealth
    private let connector: ProviderConnector
    private let checker: HealthChecker
    private let table: ListenerTable
    private let redis: RedisRoutingClient?
    private let store: PortMapStore
    private let statusSocket: String?
    private let reloads: ReloadQueue
    private let publishing = Mutex(Publishing())
    /// True after the first successful load.
    private let loadedOnce = Atomic<Bool>(false)

    /// The port map as last stored, and changes Redis has not taken yet.
    struct Publishing {
        var stored: [String: Int]?
        var unpublished = Set<String>()
    }

    /// Creates the service; nothing listens until ``run()``.
    public init(configuration: LDAPProxyConfiguration, group: any EventLoopGroup, logger: Logger, statusSocket: String? = nil) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.statusSocket = statusSocket
        health = ProviderHealth(logger: logger)
        connector = ProviderConnector(connectTimeout: configuration.connectTimeout, caFile: configuration.caFile, logger: logger)
        checker = HealthChecker(connector: connector, health: health, group: group, timeout: configuration.connectTimeout * 2)
        let setup = LDAPConnectionSetup(
            dialer: ProviderDialer(connector: connector, health: health),
            framing: LDAPFramerSettings(limit: configuration.maxMessageSize, messageTimeout: configuration.messageTimeout, logger: logger),
            logger: logger)
        table = ListenerTable(configuration: configuration, group: group, setup: setup, health: health, logger: logger)
        switch configuration.source {
        case .redis(let settings, let proxyID):
            let client = RedisRoutingClient(settings: settings, group: group, poolSize: 1, logger: logger)
            redis = client
            store = PortMapStore(redis: client, proxyID: proxyID, nodeID: configuration.nodeID, stateFile: configuration.stateFile, logger: logger)
        case .file:
            redis = nil
            store = PortMapStore(redis: nil, proxyID: nil, nodeID: configuration.nodeID, stateFile: configuration.stateFile, logger: logger)
        }
        reloads = ReloadQueue(label: "user domains", logger: logger)
    }

    /// Asks for a reload of the domains (SIGHUP, an event); reloads in a row are coalesced.
    public func reload(reason: String) {
        reloads.request(reason)
    }

    /// Binds the default port (it answers `unavailable` until a domain is
    /// known) and the status socket. Domains come from the reload loop of ``run()``.
    private func start() async throws(ListenerError) -> SocketAddress? {
        try await table.startDefault()
        if let statusSocket {
            do { try await StatusSocket.start(path: statusSocket, group: group) { await self.statusJSON() } } catch {
                logger.warning("no status socket: cannot listen on \(statusSocket): \(error) (nscore ldapproxy status will not work)")
            }
        }
        return await table.defaultListener?.localAddress
    }

    /// Loads the domains, applies them, stores and announces port changes.
    private func reloadNow() async throws {
        let domains = try await loadDomains()
        if !loadedOnce.load(ordering: .acquiring) {
            await table.restore(known: await store.load())  // the ports of the last run, before any is handed out
        }
        let changed = await table.apply(domains)
        connector.keep(only: Set(domains.flatMap(\.providers)))
        health.keep(only: Set(domains.flatMap(\.providers)))
        let ports = await table.portMap.ports
        let toPublish = publishing.withLock { p -> [String]? in
            p.unpublished.formUnion(changed)
            return p.stored == ports && p.unpublished.isEmpty ? nil : p.unpublished.sorted()
        }
        guard let toPublish else { return }
        do {
            try await store.save(ports, changed: toPublish)
        } catch {
            throw LDAPProxyError.publishFailed("\(error)")
        }
        publishing.withLock { p in
            p.stored = ports
            p.unpublished.subtract(toPublish)
        }
        if !toPublish.isEmpty { logger.info("port map published: \(ports.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))") }
    }

    private func loadDomains() async throws -> [LDAPDomain] {
        switch configuration.source {
        case .file(let path):
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw DomainConfigError.unreadable("cannot read \(path): \(error)")
            }
            return try DomainConfigFile.parse(text)
        case .redis:
            guard let redis else { return [] }
            return try await RedisDomainSource(redis: redis, logger: logger).load()
        }
    }

    /// Reload requests, one at a time; a failed one is retried with backoff.
    private func reloadLoop() async {
        await reloads.run({ try await self.reloadNow() }, loaded: { self.loadedOnce.store(true, ordering: .releasing) })
    }

    /// The three configuration events (REDIS-LAYOUT.md) on the replica; a
    /// restored subscription reloads too (events may have been missed).
    private func followEvents() async {
        guard let redis else { return }
        await redis.follow(patterns: ["cluster/event/ldap-provider-changed", "cluster/event/user-domain-changed",
                                      "module/*/event/service-ldap-changed"], logger: logger) { self.reload(reason: $0) }
    }

    /// Reads every provider's root DSE every `--check-interval`.
    private func healthLoop() async {
        while !Task.isCancelled {
            let providers = await Set(table.served.values.flatMap(\.domain.providers))
            await checker.checkAll(providers)
            try? await Task.sleep(for: .nanoseconds(configuration.checkInterval.nanoseconds))
        }
    }

    /// Runs until graceful shutdown: READY once listening, STOPPING and a drain at the end.
    public func run() async throws {
        let address = try await start()
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.reloadLoop() }
            reload(reason: "start")
            // READY once the domains are served, or after a few seconds without them (Redis may come later).
            _ = await withTaskGroup(of: Void.self) { wait in
                wait.addTask {
                    while !self.loadedOnce.load(ordering: .acquiring), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
                }
                wait.addTask { try? await Task.sleep(for: .seconds(3)) }
                await wait.next()
                wait.cancelAll()
            }
            let domains = await table.served.count
            SystemdNotifier.ready(status: "serving \(domains) user domain(s); default on \(address.map { "\($0)" } ?? "?")")
            tasks.addTask { await SystemdWatchdog.run() }
            tasks.addTask { await self.followEvents() }
            tasks.addTask { await self.healthLoop() }
            try? await gracefulShutdown()
            reloads.finish()
            tasks.cancelAll()
        }
        let listeners = await table.allListeners
        SystemdNotifier.stopping(status: "draining \(listeners.reduce(0) { $0 + $1.registry.activeCount }) clients")
        let deadline = configuration.drainTimeout
        await withTaskGroup(of: Void.self) { drains in
            for listener in listeners { drains.addTask { await listener.drain(deadline: deadline) } }
        }
        await redis?.close()
        if let statusSocket { unlinkSocket(statusSocket) }
        logger.info("stopped")
    }

    /// The status document (`nscore ldapproxy status`).
    public func statusJSON() async -> String {
        await ProxyStatus.document(table: table, health: health, configuration: configuration, loaded: loadedOnce.load(ordering: .relaxed))
    }
}

/// Why the proxy could not do what it was asked.
public enum LDAPProxyError: Error, Sendable, CustomStringConvertible {
    /// Redis did not take the port map (retried).
    case publishFailed(String)

    public var description: String {
        switch self {
        case .publishFailed(let why): "cannot publish the port map to Redis: \(why)"
        }
    }
}

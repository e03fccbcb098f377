import Logging
import Net
import NIOCore

/// The listeners and what each serves: the default port and one port per
/// domain. Reloads go through ``apply(_:)`` one at a time (an actor); a
/// listener is only bound for a new domain and only stops accepting for a
/// removed one, its open connections left to finish.
actor ListenerTable {
    struct Served: Sendable {
        var domain: LDAPDomain
        let route: DomainRoute
        var listener: Listener?
    }

    private let configuration: LDAPProxyConfiguration
    private let group: any EventLoopGroup
    private let setup: LDAPConnectionSetup
    private let health: ProviderHealth
    private let logger: Logger
    private(set) var served: [String: Served] = [:]
    private(set) var portMap: PortMap
    private(set) var defaultName: String?
    let defaultRoute = DomainRoute()
    private(set) var defaultListener: Listener?
    /// Listeners of removed domains whose clients have not all left yet.
    private var retired: [Listener] = []

    init(configuration: LDAPProxyConfiguration, group: any EventLoopGroup, setup: LDAPConnectionSetup,
         health: ProviderHealth, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.setup = setup
        self.health = health
        self.logger = logger
        portMap = PortMap(range: configuration.portRange)
    }

    /// Starts from the port map of the last run (before the first ``apply(_:)``).
    func restore(known: [String: Int]) {
        guard served.isEmpty else { return }
        portMap = PortMap(range: configuration.portRange, known: known)
    }

    /// Binds the default domain's port (it refuses clients with `unavailable` until a domain is known).
    func startDefault() async throws(ListenerError) {
        defaultListener = try await bind(name: "ldap-default", port: configuration.defaultPort, route: defaultRoute)
    }

    /// Serves exactly `domains`; returns the domains whose port changed.
    func apply(_ domains: [LDAPDomain]) async -> [String] {
        let byName = Dictionary(domains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var changed: [String]
        do {
            changed = try portMap.update(to: Set(byName.keys))
        } catch {
            logger.error("\(error)")
            if case .full(_, _, let done) = error { changed = done } else { changed = [] }
        }
        for (name, entry) in served where byName[name] == nil || portMap.ports[name] == nil {
            entry.route.serve(nil, nodeID: configuration.nodeID, health: health)
            if let listener = entry.listener {
                await listener.stopAccepting()
                retired.append(listener)
            }
            served[name] = nil
            logger.notice("domain \(name) removed: its port no longer accepts clients; \(entry.listener?.registry.activeCount ?? 0) open connection(s) go on")
        }
        for name in byName.keys.sorted() where portMap.ports[name] != nil {
            let domain = byName[name]!
            if var entry = served[name] {
                if entry.domain != domain {
                    entry.route.serve(domain, nodeID: configuration.nodeID, health: health)
                    entry.domain = domain
                    logger.info("domain \(name) updated: providers \(domain.providers.map(\.description).joined(separator: ", "))")
                }
                if entry.listener == nil { entry.listener = await bindDomain(name, route: entry.route, changed: &changed) }
                served[name] = entry
            } else {
                let route = DomainRoute()
                route.serve(domain, nodeID: configuration.nodeID, health: health)
                let listener = await bindDomain(name, route: route, changed: &changed)
                served[name] = Served(domain: domain, route: route, listener: listener)
                logger.notice("domain \(name) added on port \(portMap.ports[name].map(String.init) ?? "none"): providers \(domain.providers.map(\.description).joined(separator: ", "))")
            }
        }
        defaultName = configuration.defaultDomain.flatMap { served[$0] == nil ? nil : $0 } ?? served.keys.sorted().first
        if let wanted = configuration.defaultDomain, served[wanted] == nil, !served.isEmpty {
            logger.warning("--default-domain \(wanted) is not configured; port \(configuration.defaultPort) serves \(defaultName ?? "-")")
        }
        defaultRoute.serve(sameAs: defaultName.flatMap { served[$0]?.route })
        retired.removeAll { $0.registry.activeCount == 0 }
        return Array(Set(changed)).sorted()
    }

    /// Binds a domain's port; a port another process holds is given up for the next free one.
    private func bindDomain(_ name: String, route: DomainRoute, changed: inout [String]) async -> Listener? {
        for _ in 0..<8 {
            guard let port = portMap.ports[name] else { return nil }
            do {
                return try await bind(name: "ldap-\(name)", port: port, route: route)
            } catch {
                logger.error("domain \(name): \(error); trying another port of --port-range")
                guard portMap.reassign(name) != nil else { break }
                changed.append(name)
            }
        }
        logger.error("domain \(name) has no port it can listen on; it is not served until the next reload")
        return nil
    }

    private func bind(name: String, port: Int, route: DomainRoute) async throws(ListenerError) -> Listener {
        let setup = self.setup
        let listener = ListenerConfiguration(name: name, address: .bind(Endpoint(host: configuration.listenHost, port: port)),
                                             maxConnections: configuration.maxConnections, idleTimeout: configuration.idleTimeout,
                                             childAutoRead: false)
        return try await Listener.start(listener, group: group, logger: logger) { channel in
            setup.install(on: channel, route: route)
        }
    }

    /// Every listener, for the drain at shutdown.
    var allListeners: [Listener] {
        [defaultListener].compactMap { $0 } + served.values.compactMap(\.listener) + retired
    }
}

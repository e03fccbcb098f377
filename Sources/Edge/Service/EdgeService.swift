import FoundationEssentials
public import Logging
public import Net
public import NIOCore
public import RESP
import Secrets
public import ServiceLifecycle

/// Settings of `nscore edge`.
public struct EdgeConfiguration: Sendable {
    public var edgeID: String
    public var nodeID: Int
    public var http: ListenAddress
    public var https: ListenAddress
    /// Holds the edge's box key pair (`edge.key`, 0600): it opens the sealed private keys.
    public var stateDirectory: String
    public var redis: RedisSettings
    public var responseTimeout: TimeAmount = .seconds(60)
    /// A complete request head within this of a connection opening or of its last response.
    public var headTimeout: TimeAmount = .seconds(30)
    /// A connection that neither reads nor writes for this is closed.
    public var idleTimeout: TimeAmount = .seconds(120)
    public var drainTimeout: Duration = .seconds(10)
    public var acme = ACMESettings()

    public init(edgeID: String, nodeID: Int, http: ListenAddress, https: ListenAddress, stateDirectory: String, redis: RedisSettings) {
        self.edgeID = edgeID
        self.nodeID = nodeID
        self.http = http
        self.https = https
        self.stateDirectory = stateDirectory
        self.redis = redis
    }
}

/// `nscore edge`: the HTTP and HTTPS listeners, routes and certificates from
/// Redis, reloaded on `routes-changed` and `certificate-changed` without
/// dropping a connection; a self-signed default made (and kept) at first start.
public final class EdgeService: Service, Sendable {
    public let configuration: EdgeConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let redis: RedisRoutingClient
    private let keys: KeyPair
    private let routes = SharedRoutes()
    public let certificates = CertificateStore()
    private let reloads: ReloadQueue
    private let challenges = ACMEChallenges()
    private let acme: ACMEManager<RedisRoutingClient>

    /// Loads (or makes) the edge's key pair; nothing listens until ``run()``.
    public init(configuration: EdgeConfiguration, group: any EventLoopGroup, logger: Logger) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        redis = RedisRoutingClient(settings: configuration.redis, group: group, poolSize: 1, logger: logger)
        let keyFile = configuration.stateDirectory + "/edge.key"
        if FileManager.default.fileExists(atPath: keyFile) {
            keys = try KeyPair.load(secretKeyFile: keyFile)
        } else {
            try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
            keys = try KeyPair.generate()
            try keys.save(secretKeyFile: keyFile)
            logger.notice("made the edge's key pair in \(keyFile)")
        }
        reloads = ReloadQueue(label: "routes and certificates", logger: logger)
        acme = try ACMEManager(store: ACMEStore(redis: redis, edgeID: configuration.edgeID),
                               repository: CertificateRepository(redis: redis, edgeID: configuration.edgeID, nodeID: configuration.nodeID, keys: keys),
                               keys: keys, challenges: challenges, routes: routes, settings: configuration.acme, group: group, logger: logger)
    }

    private var repository: CertificateRepository<RedisRoutingClient> {
        CertificateRepository(redis: redis, edgeID: configuration.edgeID, nodeID: configuration.nodeID, keys: keys)
    }

    /// The name the self-signed default is kept under.
    static let defaultName = "_default"

    /// Reads routes and certificates; makes and stores the default certificate the first time.
    func reloadNow() async throws {
        // Others seal private keys for the edge with this (nscore secret seal --to module/<edge>).
        let publicKeyName = "module/\(configuration.edgeID)/public_key"
        if try await redis.client(for: .privileged, command: "get").get(publicKeyName) != keys.publicKeyBase64 {
            _ = try await redis.client(for: .privileged, command: "set").set(publicKeyName, keys.publicKeyBase64)
        }
        let prefix = "module/\(configuration.edgeID)/routes/"
        var loaded: [Route] = []
        for try await key in try redis.client(for: .privileged, command: "scan").scan(match: prefix + "*") {
            let fields = try await redis.client(for: .privileged, command: "hgetall").hgetall(key)
            do { loaded.append(try Route(fields: fields.merging(["instance": String(key.dropFirst(prefix.count))]) { old, _ in old })) }
            catch { logger.error("route \(key) skipped: \(error)") }
        }
        var stored = try await repository.loadAll { name, error in self.logger.error("certificate \(name) skipped: \(error)") }
        var fallback = stored.first { $0.name == Self.defaultName }?.certificate
        if fallback == nil {
            let made = try SelfSigned.make(names: ["localhost"])
            try await repository.save(made, as: Self.defaultName)
            logger.notice("made a self-signed default certificate (kept in Redis as \(Self.defaultName))")
            fallback = made
        }
        stored.removeAll { $0.name == Self.defaultName }
        // Uploaded certificates first: they win a name over obtained ones.
        let ordered = stored.filter { $0.certificate.custom } + stored.filter { !$0.certificate.custom }
        try certificates.replace(with: ordered.map(\.certificate), default: fallback)
        routes.replace(with: RouteTable(loaded))
        logger.info("serving \(loaded.count) route(s), \(stored.count) certificate(s)")
    }

    /// Runs until graceful shutdown: READY once listening, a drain at the end.
    public func run() async throws {
        // The listeners need a certificate before Redis answers: a temporary self-signed one.
        try certificates.replace(with: [], default: try SelfSigned.make(names: ["localhost"]))
        var http = ProxySettings(routes: routes, tls: false, logger: logger)
        http.responseTimeout = configuration.responseTimeout
        http.headTimeout = configuration.headTimeout
        http.idleTimeout = configuration.idleTimeout
        var https = http
        https.tls = true
        http.challenges = challenges
        let started = [try await EdgeListeners.startHTTP(configuration.http, settings: http, group: group, logger: logger),
                       try await EdgeListeners.startHTTPS(configuration.https, store: certificates, settings: https, group: group, logger: logger)]
        await withTaskGroup(of: Void.self) { tasks in
            // Routes name the hosts that want ACME certificates: the manager looks after each load.
            tasks.addTask { await self.reloads.run({ try await self.reloadNow() }, loaded: { self.acme.wake() }) }
            reloads.request("start")
            let edge = configuration.edgeID
            tasks.addTask {
                await self.redis.follow(channels: ["module/\(edge)/event/routes-changed", "module/\(edge)/event/certificate-changed",
                                                   "module/\(edge)/event/acme-changed"], logger: self.logger) { channel in
                    if channel.hasSuffix("/acme-changed") { self.acme.wake() } else { self.reloads.request(channel) }
                }
            }
            tasks.addTask { await self.acme.run() }
            tasks.addTask { await SystemdWatchdog.run() }
            SystemdNotifier.ready(status: "listening on \(started.compactMap(\.localAddress).map { "\($0)" }.joined(separator: ", "))")
            try? await gracefulShutdown()
            reloads.finish()
            tasks.cancelAll()
        }
        SystemdNotifier.stopping(status: "draining")
        let deadline = configuration.drainTimeout
        await withTaskGroup(of: Void.self) { drains in
            for listener in started { drains.addTask { await listener.drain(deadline: deadline) } }
        }
        await redis.close()
        logger.info("stopped")
    }
}

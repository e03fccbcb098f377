import FoundationEssentials
public import Logging
public import NIOConcurrencyHelpers
public import NIOCore
public import RESP
public import Secrets

/// How the edge's ACME manager behaves (`nscore edge --acme-…`).
public struct ACMESettings: Sendable {
    /// A PEM bundle trusted besides the system CAs for the ACME server (a test CA).
    public var caFile: String?
    /// How often every certificate's remaining lifetime is looked at (±10 % jitter).
    public var checkInterval: Duration = .seconds(12 * 3600)
    /// The first retry after a failure; doubled per failure up to `retryMaximum` (±10 % jitter).
    public var retryInitial: Duration = .seconds(60)
    public var retryMaximum: Duration = .seconds(6 * 3600)
    /// Poll interval for authorizations and orders when the server sends no Retry-After.
    public var pollInterval: Duration = .seconds(1)

    public init() {}

    /// The delay before attempt `failures + 1`.
    func retryDelay(afterFailures failures: Int) -> Duration {
        let doubled = retryInitial * (1 << min(max(failures - 1, 0), 20))
        return Self.jittered(min(doubled, retryMaximum))
    }

    static func jittered(_ d: Duration) -> Duration { d * Double.random(in: 0.9...1.1) }
}

/// Obtains and renews the certificates of the names asked for with
/// `set-certificate` and of the routes with `lets_encrypt`: one order per
/// name, renewal once less than a third of the lifetime is left, failures
/// retried with backoff and reported in `module/<edge>/acme/status/<name>`.
public final class ACMEManager<Client: RedisCommandSending & Sendable>: Sendable {
    private let store: ACMEStore<Client>
    private let repository: CertificateRepository<Client>
    private let keys: KeyPair
    private let challenges: ACMEChallenges
    private let routes: SharedRoutes
    private let settings: ACMESettings
    private let http: ACMEHTTPClient
    private let logger: Logger
    private let wakeSignal = WakeSignal()
    private let client = NIOLockedValueBox<ACMEClient?>(nil)
    /// Certificates obtained but not stored yet (Redis refused or was away): stored on the next
    /// attempt instead of ordering again (a CA limits duplicate orders). Kept in memory only.
    private let unsaved = NIOLockedValueBox<[String: EdgeCertificate]>([:])

    public init(store: ACMEStore<Client>, repository: CertificateRepository<Client>, keys: KeyPair, challenges: ACMEChallenges,
                routes: SharedRoutes, settings: ACMESettings, group: any EventLoopGroup, logger: Logger) throws(ACMEError) {
        self.store = store
        self.repository = repository
        self.keys = keys
        self.challenges = challenges
        self.routes = routes
        self.settings = settings
        http = try ACMEHTTPClient(group: group, caFile: settings.caFile)
        var logger = logger
        logger[metadataKey: "part"] = "acme"
        self.logger = logger
    }

    /// Looks again now (a request, a route or the server changed).
    public func wake() { wakeSignal.signal() }

    /// Runs until cancelled.
    public func run() async {
        var redisFailures = 0
        while !Task.isCancelled {
            var next = ACMESettings.jittered(settings.checkInterval)
            do {
                next = try await pass()
                redisFailures = 0
            } catch {
                redisFailures += 1
                if redisFailures == 1 { logger.error("cannot read the ACME requests: \(error); retrying") }
                next = settings.retryDelay(afterFailures: redisFailures)
            }
            await wakeSignal.wait(upTo: next)
        }
    }

    /// The names to have certificates for.
    private func wanted() async throws -> [String] {
        let fromRoutes = routes.current.routes.filter(\.letsEncrypt).compactMap(\.host)
        return Set(try await store.requests() + fromRoutes).filter { !$0.contains("*") }.sorted()
    }

    /// One look at every wanted name; returns when to look again.
    func pass() async throws -> Duration {
        var soonest = ACMESettings.jittered(settings.checkInterval)
        let names = try await wanted()
        guard !names.isEmpty else { return soonest }
        let all = try await repository.list()
        let stored = all.filter { !$0.custom }
        for name in names {
            var status = try await store.status(name) ?? ACMEStatus(state: "pending")
            let now = Date()
            // An uploaded certificate kept under this name is never replaced by an obtained one.
            if all.contains(where: { $0.name == name && $0.custom }) {
                let why = "an uploaded certificate is stored as \(name): it is served, none is obtained (delete-certificate it to use ACME)"
                if status.state != "failed" || status.error != why {
                    try await store.save(ACMEStatus(state: "failed", error: why, failures: status.failures), for: name)
                    logger.warning("not obtaining a certificate for \(name): \(why)")
                }
                continue
            }
            if let current = stored.first(where: { $0.name == name }), !status.renew {
                // A third of the lifetime left, minus a per-name jitter of up to a thirtieth of it
                // (certificates obtained together are not all renewed in the same minute).
                let lifetime = current.notValidAfter.timeIntervalSince(current.notValidBefore)
                let jitter = lifetime / 30 * Double(UInt(bitPattern: name.hashValue) % 1000) / 1000
                let renewAt = current.notValidAfter - lifetime / 3 - jitter
                if now < renewAt {
                    if status.state != "valid", status.failures == 0 { try await store.save(ACMEStatus(state: "valid"), for: name) }
                    soonest = min(soonest, .seconds(renewAt.timeIntervalSince(now)))
                    continue
                }
            }
            if let next = status.nextAttempt, next > now {
                soonest = min(soonest, .seconds(next.timeIntervalSince(now)))
                continue
            }
            do {
                let started = ContinuousClock.now
                let certificate: EdgeCertificate
                if let kept = unsaved.withLockedValue({ $0[name] }), kept.notValidAfter > now {
                    certificate = kept
                    logger.info("storing the certificate obtained earlier for \(name)")
                } else {
                    let obtained = try await obtain(name)
                    certificate = try EdgeCertificate(chainPEM: obtained.chainPEM, keyPEM: obtained.keyPEM, custom: false)
                    unsaved.withLockedValue { $0[name] = certificate }
                }
                try await repository.save(certificate, as: name)
                unsaved.withLockedValue { $0[name] = nil }
                try await store.save(ACMEStatus(state: "valid"), for: name)
                logger.notice("obtained a certificate for \(name)",
                              metadata: ["not_after": "\(certificate.notValidAfter)", "duration": "\(ContinuousClock.now - started)"])
            } catch {
                status.failures += 1
                status.state = "failed"
                status.error = "\(error)"
                let delay = settings.retryDelay(afterFailures: status.failures)
                status.nextAttempt = now.addingTimeInterval(Double(delay.components.seconds))
                status.updated = Date()
                try await store.save(status, for: name)
                logger.error("cannot obtain a certificate for \(name): \(error)",
                             metadata: ["failures": "\(status.failures)", "retry_in_s": "\(delay.components.seconds)"])
                soonest = min(soonest, delay)
            }
        }
        return soonest
    }

    /// The client of the configured directory (made again when set-acme-server changed it).
    private func currentClient() async throws -> ACMEClient {
        let server = try await store.server()
        if let existing = client.withLockedValue({ $0 }), existing.directoryURL == server.directory, existing.email == server.email {
            return existing
        }
        let account = try await store.account(for: server.directory, keys: keys)
        let key = account?.key ?? ACMEAccountKey()
        if account == nil {
            try await store.saveAccount(directory: server.directory, url: nil, key: key, publicKey: keys.publicKey)
            logger.notice("made an ACME account key for \(server.directory)")
        }
        let made = ACMEClient(directoryURL: server.directory, key: key, accountURL: account?.url, email: server.email, http: http)
        await made.setPolling(interval: settings.pollInterval, limit: .seconds(120))
        client.withLockedValue { $0 = made }
        return made
    }

    private func obtain(_ name: String) async throws -> (chainPEM: String, keyPEM: String) {
        let acme = try await currentClient()
        let before = await acme.accountURL
        do {
            let result = try await acme.obtain(name: name, challenges: challenges)
            try await rememberAccount(acme, before)
            return result
        } catch {
            try? await rememberAccount(acme, before)
            throw error
        }
    }

    /// Stores the account URL when registration gave a new one.
    private func rememberAccount(_ acme: ACMEClient, _ before: String?) async throws {
        let now = await acme.accountURL
        guard let now, now != before else { return }
        try await store.saveAccount(directory: acme.directoryURL, url: now, key: acme.key, publicKey: keys.publicKey)
        logger.notice("ACME account registered", metadata: ["account": "\(now)"])
    }
}

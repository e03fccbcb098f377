public import FoundationEssentials
import JSON
public import RESP
public import Secrets

/// The edge's certificates in Redis (REDIS-LAYOUT.md, EDGE.md):
/// `module/<edge>/certificate/<name>` with `cert` (base64 PEM chain),
/// `key_sealed` (the private key sealed to the edge's own key pair — no
/// other Redis user can read it), `custom`; names in `module/<edge>/hosts`;
/// `module/<edge>/event/certificate-changed` after every change.
public struct CertificateRepository<Client: RedisCommandSending & Sendable>: Sendable {
    public let redis: Client
    public let edgeID: String
    public let nodeID: Int
    /// Seals private keys (the edge's public key).
    public let publicKey: [UInt8]
    /// Opens them; nil for callers that only store, list and delete.
    public let keys: KeyPair?

    public init(redis: Client, edgeID: String, nodeID: Int, keys: KeyPair) {
        self.init(redis: redis, edgeID: edgeID, nodeID: nodeID, publicKey: keys.publicKey, keys: keys)
    }

    /// A repository that can store, list and delete, not read private keys.
    public init(redis: Client, edgeID: String, nodeID: Int, publicKey: [UInt8], keys: KeyPair? = nil) {
        self.redis = redis
        self.edgeID = edgeID
        self.nodeID = nodeID
        self.publicKey = publicKey
        self.keys = keys
    }

    private var prefix: String { "module/\(edgeID)/certificate/" }

    /// Stores a certificate under `name` (replacing one of that name) and announces it.
    public func save(_ certificate: EdgeCertificate, as name: String) async throws(EdgeStoreError) {
        let sealed: String
        do { sealed = try SealedValue.seal(certificate.keyPEM, to: publicKey) } catch { throw .secrets("\(error)") }
        do {
            _ = try await redis.hset(prefix + name, ["cert": Base64.encode(Array(certificate.chainPEM.utf8)), "key_sealed": sealed,
                                                     "custom": certificate.custom ? "true" : "false"])
            _ = try await redis.sadd("module/\(edgeID)/hosts", certificate.names)
        } catch { throw .redis("\(error)") }
        try await announce(certificate.names)
    }

    /// Deletes the certificate `name`; returns whether there was one.
    @discardableResult
    public func delete(_ name: String) async throws(EdgeStoreError) -> Bool {
        let existing = try await load(name)
        do { guard try await redis.del([prefix + name]) == 1 else { return false } } catch { throw .redis("\(error)") }
        try await announce(existing?.names ?? [])
        return true
    }

    /// One stored certificate, its key opened (nil: none of that name).
    public func load(_ name: String) async throws(EdgeStoreError) -> EdgeCertificate? {
        let fields: [String: String]
        do { fields = try await redis.hgetall(prefix + name) } catch { throw .redis("\(error)") }
        guard !fields.isEmpty else { return nil }
        guard let cert = fields["cert"].flatMap({ Base64.decode($0) }), let sealed = fields["key_sealed"] else {
            throw .corrupt(name, "cert or key_sealed missing or not base64")
        }
        guard let keys else { throw .secrets("the edge's secret key is needed to open \(name)'s private key (--state-dir)") }
        let key: [UInt8]
        do { key = try SealedValue.open(sealed, with: keys) } catch { throw .corrupt(name, "key_sealed: \(error)") }
        do {
            return try EdgeCertificate(chainPEM: String(decoding: cert, as: UTF8.self), keyPEM: String(decoding: key, as: UTF8.self),
                                       custom: fields["custom"] == "true", requireValidNow: false)
        } catch {
            throw .corrupt(name, "\(error)")
        }
    }

    /// Every stored certificate by name; an unreadable one is reported through `skipped`, not fatal.
    public func loadAll(skipped: (String, EdgeStoreError) -> Void = { _, _ in }) async throws(EdgeStoreError) -> [(name: String, certificate: EdgeCertificate)] {
        var names: [String] = []
        do { for try await key in redis.scan(match: prefix + "*") { names.append(String(key.dropFirst(prefix.count))) } } catch {
            throw .redis("\(error)")
        }
        var out: [(name: String, certificate: EdgeCertificate)] = []
        for name in names.sorted() {
            do {
                if let c = try await load(name) { out.append((name, c)) }
            } catch {
                skipped(name, error)
            }
        }
        return out
    }

    /// Name, host names, validity and status of every stored certificate (no key is opened).
    public func list() async throws(EdgeStoreError) -> [StoredCertificate] {
        var out: [StoredCertificate] = []
        do {
            var keys: [String] = []
            for try await key in redis.scan(match: prefix + "*") { keys.append(key) }
            for key in keys.sorted() {
                let fields = try await redis.hgetall(key)
                guard let pem = fields["cert"].flatMap({ Base64.decode($0) }),
                      let summary = EdgeCertificate.summary(chainPEM: String(decoding: pem, as: UTF8.self)) else { continue }
                out.append(StoredCertificate(name: String(key.dropFirst(prefix.count)), names: summary.names, notValidBefore: summary.notValidBefore,
                                             notValidAfter: summary.notValidAfter, custom: fields["custom"] == "true"))
            }
        } catch { throw .redis("\(error)") }
        return out
    }

    private func announce(_ names: [String]) async throws(EdgeStoreError) {
        let payload = JSONValue.object([("node_id", .number(Double(nodeID))), ("module_id", .string(edgeID)),
                                        ("names", .array(names.map { .string($0) }))])
        do { _ = try await redis.publish("module/\(edgeID)/event/certificate-changed", payload.serialized) } catch { throw .redis("\(error)") }
    }
}

/// What ``CertificateRepository/list()`` tells of one certificate.
public struct StoredCertificate: Sendable {
    public var name: String
    public var names: [String]
    public var notValidBefore: Date
    public var notValidAfter: Date
    /// Uploaded (true) or made/obtained by the edge.
    public var custom: Bool

    /// `valid`, `expiring` (< 30 days left) or `expired`.
    public var status: String { EdgeCertificate.status(notValidBefore: notValidBefore, notValidAfter: notValidAfter) }
}

/// Why the certificate store in Redis could not be read or written.
public enum EdgeStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case redis(String)
    case secrets(String)
    case corrupt(String, String)

    public var description: String {
        switch self {
        case .redis(let why): "Redis: \(why)"
        case .secrets(let why): "sealing the private key: \(why)"
        case .corrupt(let name, let why): "certificate \(name) in Redis cannot be used: \(why)"
        }
    }
}

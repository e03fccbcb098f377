public import FoundationEssentials
public import RESP
import Secrets

/// Where a requested ACME certificate stands (`module/<edge>/acme/status/<name>`).
public struct ACMEStatus: Sendable, Equatable {
    /// `pending` (requested, not yet obtained), `valid` (obtained), `failed` (last attempt failed).
    public var state: String
    public var error: String?
    /// Consecutive failed attempts (the backoff grows with it).
    public var failures: Int
    /// No attempt before this (backoff after failures).
    public var nextAttempt: Date?
    /// Obtain again now, whatever the remaining lifetime (`set-certificate` with `renew`).
    public var renew: Bool
    public var updated: Date

    public init(state: String, error: String? = nil, failures: Int = 0, nextAttempt: Date? = nil, renew: Bool = false, updated: Date = Date()) {
        self.state = state
        self.error = error
        self.failures = failures
        self.nextAttempt = nextAttempt
        self.renew = renew
        self.updated = updated
    }

    init(fields: [String: String]) {
        state = fields["state"] ?? "pending"
        error = fields["error"].flatMap { $0.isEmpty ? nil : $0 }
        failures = fields["failures"].flatMap { Int($0) } ?? 0
        nextAttempt = fields["next_attempt"].flatMap { Double($0) }.flatMap { $0 > 0 ? Date(timeIntervalSince1970: $0) : nil }
        renew = fields["renew"] == "1"
        updated = Date(timeIntervalSince1970: fields["updated"].flatMap { Double($0) } ?? 0)
    }

    var fields: [String: String] {
        ["state": state, "error": error ?? "", "failures": String(failures),
         "next_attempt": nextAttempt.map { String(Int($0.timeIntervalSince1970)) } ?? "0", "renew": renew ? "1" : "0",
         "updated": String(updated.timeIntervalSince1970)]
    }
}

/// The edge's ACME state in Redis:
/// - `module/<edge>/acme` HASH `directory`, `email` (set-acme-server);
/// - `module/<edge>/acme/account` HASH `directory`, `url`, `key_sealed` (the account key sealed to the edge);
/// - `module/<edge>/acme/requests` SET of names asked for with set-certificate;
/// - `module/<edge>/acme/status/<name>` HASH (``ACMEStatus``);
/// - `module/<edge>/event/acme-changed` wakes the running edge.
public struct ACMEStore<Client: RedisCommandSending & Sendable>: Sendable {
    public let redis: Client
    public let edgeID: String

    /// Let's Encrypt production, the directory used until set-acme-server says otherwise.
    public static var defaultDirectory: String { "https://acme-v02.api.letsencrypt.org/directory" }

    public init(redis: Client, edgeID: String) {
        self.redis = redis
        self.edgeID = edgeID
    }

    private var base: String { "module/\(edgeID)/acme" }
    public var channel: String { "module/\(edgeID)/event/acme-changed" }

    public func server() async throws(RedisClientError) -> (directory: String, email: String?) {
        let fields = try await redis.hgetall(base)
        return (fields["directory"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDirectory, fields["email"].flatMap { $0.isEmpty ? nil : $0 })
    }

    public func setServer(directory: String, email: String?) async throws(RedisClientError) {
        _ = try await redis.hset(base, ["directory": directory, "email": email ?? ""])
        try await wake("acme-server")
    }

    /// The account of `directory`: its URL and key (nil: none yet, or one made for another directory).
    func account(for directory: String, keys: KeyPair) async throws -> (url: String?, key: ACMEAccountKey)? {
        let fields = try await redis.hgetall(base + "/account")
        guard fields["directory"] == directory, let sealed = fields["key_sealed"] else { return nil }
        let pem = try SealedValue.open(sealed, with: keys)
        return (fields["url"].flatMap { $0.isEmpty ? nil : $0 }, try ACMEAccountKey(pem: String(decoding: pem, as: UTF8.self)))
    }

    func saveAccount(directory: String, url: String?, key: ACMEAccountKey, publicKey: [UInt8]) async throws {
        _ = try await redis.hset(base + "/account", ["directory": directory, "url": url ?? "", "key_sealed": try SealedValue.seal(key.pem, to: publicKey)])
    }

    public func requests() async throws(RedisClientError) -> [String] { try await redis.smembers(base + "/requests").sorted() }

    /// Asks for a certificate for `name` (a manual request clears the backoff); `renew` forces a new one.
    public func request(_ name: String, renew: Bool) async throws(RedisClientError) {
        _ = try await redis.sadd(base + "/requests", [name])
        var status = try await status(name) ?? ACMEStatus(state: "pending")
        status.nextAttempt = nil
        status.renew = renew || status.renew
        if status.state == "failed" { status.failures = 0 }
        try await save(status, for: name)
        try await wake("set-certificate \(name)")
    }

    /// Forgets a request and its status (the certificate itself is the repository's).
    public func forget(_ name: String) async throws(RedisClientError) {
        _ = try await redis.srem(base + "/requests", [name])
        _ = try await redis.del([base + "/status/" + name])
    }

    public func status(_ name: String) async throws(RedisClientError) -> ACMEStatus? {
        let fields = try await redis.hgetall(base + "/status/" + name)
        return fields.isEmpty ? nil : ACMEStatus(fields: fields)
    }

    public func save(_ status: ACMEStatus, for name: String) async throws(RedisClientError) {
        _ = try await redis.hset(base + "/status/" + name, status.fields)
    }

    public func wake(_ reason: String) async throws(RedisClientError) { _ = try await redis.publish(channel, reason) }
}

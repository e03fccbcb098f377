import FoundationEssentials
public import JSON
public import RESP
import Secrets

/// A management command's refusal: the protocol's error array and an exit status (2–7).
public struct ManagementError: Error, Sendable {
    public var exitCode: Int32
    public var field: String
    public var value: JSONValue
    public var message: String

    public init(exitCode: Int32, field: String, value: JSONValue, message: String) {
        self.exitCode = exitCode
        self.field = field
        self.value = value
        self.message = message
    }

    /// `[{"field","parameter","value","error"}]` (EDGE.md).
    public var errorArray: JSONValue {
        .array([.object([("field", .string(field)), ("parameter", .string(field)), ("value", value), ("error", .string(message))])])
    }
}

/// The edge's management commands (EDGE.md) over its Redis keys: JSON in,
/// JSON out, as action steps of the edge module. The running edge picks
/// every change up from the events these publish.
public struct EdgeManagement<Client: RedisCommandSending & Sendable>: Sendable {
    public let redis: Client
    public let edgeID: String
    public let certificates: CertificateRepository<Client>
    public let acme: ACMEStore<Client>

    public init(redis: Client, edgeID: String, certificates: CertificateRepository<Client>) {
        self.redis = redis
        self.edgeID = edgeID
        self.certificates = certificates
        acme = ACMEStore(redis: redis, edgeID: edgeID)
    }

    /// The management of a running (or once started) edge: its secret key from `stateDirectory`
    /// when this process may read it (get-certificate opens keys), else only its public key from
    /// `module/<edge>/public_key` (enough to seal, store, list and delete).
    public static func connect(redis: Client, edgeID: String, nodeID: Int, stateDirectory: String) async throws(ManagementError) -> Self {
        let keys = try? KeyPair.load(secretKeyFile: stateDirectory + "/edge.key")
        var publicKey = keys?.publicKey
        if publicKey == nil, let text = try? await redis.get("module/\(edgeID)/public_key") {
            publicKey = try? KeyPair.publicKey(base64: text)
        }
        guard let publicKey else {
            throw ManagementError(exitCode: 1, field: "-", value: .null,
                                  message: "module/\(edgeID)/public_key is not in Redis and \(stateDirectory)/edge.key is not readable: start the edge once")
        }
        return Self(redis: redis, edgeID: edgeID,
                    certificates: CertificateRepository(redis: redis, edgeID: edgeID, nodeID: nodeID, publicKey: publicKey, keys: keys))
    }

    private var routesPrefix: String { "module/\(edgeID)/routes/" }

    private func redisFailure(_ error: any Error) -> ManagementError {
        ManagementError(exitCode: 1, field: "-", value: .null, message: "Redis: \(error)")
    }

    private func string(_ input: JSONValue, _ name: String) throws(ManagementError) -> String {
        guard case .string(let s)? = input[name], !s.isEmpty else {
            throw ManagementError(exitCode: 2, field: name, value: input[name] ?? .null, message: "required (a string)")
        }
        return s
    }

    /// `set-route {"instance", "url", "host", "path", "priority", "strip_prefix", …}` → the stored route.
    public func setRoute(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        guard case .object(let pairs) = input else { throw ManagementError(exitCode: 2, field: "data", value: input, message: "expected an object") }
        var fields: [String: String] = [:]
        for (k, v) in pairs {
            switch v {
            case .string(let s): fields[k] = s
            case .bool(let b): fields[k] = b ? "true" : "false"
            case .number(let n) where n == n.rounded(): fields[k] = String(Int(n))
            case .null: continue
            default: throw ManagementError(exitCode: 2, field: k, value: v, message: "must be a string, a boolean or an integer")
            }
        }
        let route: Route
        do { route = try Route(fields: fields) } catch {
            throw ManagementError(exitCode: 2, field: error.field, value: input[error.field] ?? .null, message: "\(error)")
        }
        do {
            let key = routesPrefix + route.instance
            _ = try await redis.del([key])
            _ = try await redis.hset(key, fields.filter { $0.key != "instance" })
            if let host = route.host { _ = try await redis.sadd("module/\(edgeID)/hosts", [host]) }
            _ = try await redis.publish("module/\(edgeID)/event/routes-changed", JSONValue.object([("instance", .string(route.instance))]).serialized)
        } catch { throw redisFailure(error) }
        return try await getRoute(.object([("instance", .string(route.instance))]))
    }

    /// `get-route {"instance"}` → the route's fields.
    public func getRoute(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let instance = try string(input, "instance")
        let fields: [String: String]
        do { fields = try await redis.hgetall(routesPrefix + instance) } catch { throw redisFailure(error) }
        guard !fields.isEmpty else { throw ManagementError(exitCode: 2, field: "instance", value: .string(instance), message: "no route \(instance)") }
        return .object([("instance", .string(instance))] + fields.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    /// `delete-route {"instance"}`.
    public func deleteRoute(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let instance = try string(input, "instance")
        do {
            guard try await redis.del([routesPrefix + instance]) == 1 else {
                throw ManagementError(exitCode: 2, field: "instance", value: .string(instance), message: "no route \(instance)")
            }
            _ = try await redis.publish("module/\(edgeID)/event/routes-changed", JSONValue.object([("instance", .string(instance))]).serialized)
        } catch let error as ManagementError { throw error } catch { throw redisFailure(error) }
        return .object([("instance", .string(instance)), ("deleted", .bool(true))])
    }

    /// `list-routes` → every route, by instance.
    public func listRoutes() async throws(ManagementError) -> JSONValue {
        var names: [String] = []
        do { for try await key in redis.scan(match: routesPrefix + "*") { names.append(String(key.dropFirst(routesPrefix.count))) } } catch {
            throw redisFailure(error)
        }
        var out: [JSONValue] = []
        for name in names.sorted() { out.append(try await getRoute(.object([("instance", .string(name))]))) }
        return .array(out)
    }

    /// `upload-certificate {"certificate": PEM chain, "key": PEM, "name"?, "allow_self_signed"?}`: checked
    /// (PEM, key match, validity, names, a chain to a system CA — or to the upload itself with
    /// `allowSelfSigned` or `"allow_self_signed": true`; exit 2–7 by ``CertificateError``), stored with the key sealed.
    public func uploadCertificate(_ input: JSONValue, allowSelfSigned: Bool = false) async throws(ManagementError) -> JSONValue {
        let chain = try string(input, "certificate"), key = try string(input, "key")
        let certificate: EdgeCertificate
        do {
            certificate = try EdgeCertificate(chainPEM: chain, keyPEM: key, custom: true)
            try await certificate.verifyChain(allowSelfSigned: allowSelfSigned || input["allow_self_signed"] == .bool(true))
        } catch {
            let field = switch error { case .badKey, .keyMismatch: "key"; default: "certificate" }
            throw ManagementError(exitCode: error.exitCode, field: field, value: .string("(PEM)"), message: error.description)
        }
        let name: String
        if case .string(let n)? = input["name"], !n.isEmpty { name = n } else { name = certificate.names[0] }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._*".contains($0)) }) else {
            throw ManagementError(exitCode: 2, field: "name", value: .string(name), message: "letters, digits, - . _ * only")
        }
        do { try await certificates.save(certificate, as: name) } catch { throw ManagementError(exitCode: 1, field: "-", value: .null, message: "\(error)") }
        return .object([("name", .string(name)), ("names", .array(certificate.names.map { .string($0) })), ("status", .string(certificate.status()))])
    }

    /// `list-certificates` → name, names, not_after, status (valid/expiring/expired), custom; and for
    /// names asked of ACME, `acme` (state, error, failures, next_attempt) — a requested name without a
    /// certificate yet is listed with status `pending` or `failed`.
    public func listCertificates() async throws(ManagementError) -> JSONValue {
        let all: [StoredCertificate]
        var statuses: [(String, ACMEStatus)] = []
        do {
            all = try await certificates.list()
            for name in try await acme.requests() { if let s = try await acme.status(name) { statuses.append((name, s)) } }
        } catch { throw ManagementError(exitCode: 1, field: "-", value: .null, message: "\(error)") }
        func acmeObject(_ s: ACMEStatus) -> JSONValue {
            .object([("state", .string(s.state)), ("error", s.error.map { .string($0) } ?? .null), ("failures", .number(Double(s.failures))),
                     ("next_attempt", s.nextAttempt.map { .number($0.timeIntervalSince1970.rounded()) } ?? .null)])
        }
        var out: [JSONValue] = all.map { c in
            var members: [(name: String, value: JSONValue)] = [
                ("name", .string(c.name)), ("names", .array(c.names.map { .string($0) })),
                ("not_after", .number(c.notValidAfter.timeIntervalSince1970.rounded())), ("status", .string(c.status)), ("custom", .bool(c.custom))]
            if !c.custom, let s = statuses.first(where: { $0.0 == c.name })?.1 { members.append(("acme", acmeObject(s))) }
            return .object(members)
        }
        for (name, s) in statuses where !all.contains(where: { $0.name == name && !$0.custom }) {
            out.append(.object([("name", .string(name)), ("names", .array([.string(name)])), ("not_after", .null),
                                ("status", .string(s.state == "failed" ? "failed" : "pending")), ("custom", .bool(false)), ("acme", acmeObject(s))]))
        }
        return .array(out)
    }

    /// `set-certificate {"fqdn", "sync"?, "renew"?, "timeout"?}`: asks the running edge to obtain (or,
    /// with `renew`, renew now) a certificate for `fqdn` from the ACME server; with `sync` waits up to
    /// `timeout` seconds (default 120) for the outcome and fails (exit 1) when the CA refused.
    public func setCertificate(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let fqdn = try string(input, "fqdn").lowercased()
        let labels = fqdn.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } }),
              fqdn.count <= 253 else {
            throw ManagementError(exitCode: 2, field: "fqdn", value: input["fqdn"] ?? .null,
                                  message: "a fully qualified host name (letters, digits, -; no wildcard: HTTP-01 cannot prove one)")
        }
        let sync = input["sync"] == .bool(true), renew = input["renew"] == .bool(true)
        var timeout = 120.0
        if case .number(let t)? = input["timeout"], t > 0 { timeout = t }
        let asked = Date()
        do { try await acme.request(fqdn, renew: renew) } catch { throw redisFailure(error) }
        guard sync else { return .object([("fqdn", .string(fqdn)), ("state", .string("pending"))]) }
        let deadline = asked.addingTimeInterval(timeout)
        while Date() < deadline {
            try? await Task.sleep(for: .milliseconds(250))
            let status: ACMEStatus?
            do { status = try await acme.status(fqdn) } catch { throw redisFailure(error) }
            guard let status, status.updated > asked, !status.renew || status.state == "failed" else { continue }
            if status.state == "valid" { return .object([("fqdn", .string(fqdn)), ("state", .string("valid"))]) }
            if status.state == "failed" {
                throw ManagementError(exitCode: 1, field: "fqdn", value: .string(fqdn), message: status.error ?? "the ACME server refused")
            }
        }
        throw ManagementError(exitCode: 1, field: "fqdn", value: .string(fqdn),
                              message: "no outcome within \(Int(timeout)) s: is the edge running? (the request stays queued)")
    }

    /// `set-acme-server {"url", "email"?}`: the ACME directory (https) and the account's contact.
    public func setAcmeServer(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let url = try string(input, "url")
        guard url.hasPrefix("https://"), url.count > 8, !url.contains(" ") else {
            throw ManagementError(exitCode: 2, field: "url", value: .string(url), message: "an https:// ACME directory URL")
        }
        var email: String?
        if case .string(let e)? = input["email"], !e.isEmpty {
            let parts = e.split(separator: "@")
            guard parts.count == 2, parts[1].contains("."), !e.contains(" ") else {
                throw ManagementError(exitCode: 2, field: "email", value: .string(e), message: "an e-mail address")
            }
            email = e
        }
        do { try await acme.setServer(directory: url, email: email) } catch { throw redisFailure(error) }
        return try await getAcmeServer()
    }

    /// `get-acme-server` → {"url", "email"} (Let's Encrypt production until set).
    public func getAcmeServer() async throws(ManagementError) -> JSONValue {
        do {
            let server = try await acme.server()
            return .object([("url", .string(server.directory)), ("email", server.email.map { .string($0) } ?? .null)])
        } catch { throw redisFailure(error) }
    }

    /// `get-certificate {"name"}` → the chain and its private key (opened with the edge's secret key).
    public func getCertificate(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let name = try string(input, "name")
        let certificate: EdgeCertificate?
        do { certificate = try await certificates.load(name) } catch { throw ManagementError(exitCode: 1, field: "name", value: .string(name), message: "\(error)") }
        guard let certificate else { throw ManagementError(exitCode: 2, field: "name", value: .string(name), message: "no certificate \(name)") }
        return .object([("name", .string(name)), ("certificate", .string(certificate.chainPEM)), ("key", .string(certificate.keyPEM))])
    }

    /// `delete-certificate {"name"}`.
    public func deleteCertificate(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let name = try string(input, "name")
        let deleted: Bool
        do {
            let requested = try await acme.requests().contains(name)
            try await acme.forget(name)  // else the edge would obtain it again
            deleted = try await certificates.delete(name) || requested
        } catch { throw ManagementError(exitCode: 1, field: "name", value: .string(name), message: "\(error)") }
        guard deleted else { throw ManagementError(exitCode: 2, field: "name", value: .string(name), message: "no certificate \(name)") }
        return .object([("name", .string(name)), ("deleted", .bool(true))])
    }
}

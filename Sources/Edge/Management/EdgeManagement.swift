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

    public init(redis: Client, edgeID: String, certificates: CertificateRepository<Client>) {
        self.redis = redis
        self.edgeID = edgeID
        self.certificates = certificates
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

    /// `upload-certificate {"certificate": PEM chain, "key": PEM, "name"?}`: checked (PEM, key
    /// match, validity, names; exit 2–7 by ``CertificateError``), stored with the key sealed.
    public func uploadCertificate(_ input: JSONValue) async throws(ManagementError) -> JSONValue {
        let chain = try string(input, "certificate"), key = try string(input, "key")
        let certificate: EdgeCertificate
        do { certificate = try EdgeCertificate(chainPEM: chain, keyPEM: key, custom: true) } catch {
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

    /// `list-certificates` → name, names, not_after, status (valid/expiring/expired), custom.
    public func listCertificates() async throws(ManagementError) -> JSONValue {
        let all: [(name: String, names: [String], notValidAfter: Date, status: String, custom: Bool)]
        do { all = try await certificates.list() } catch { throw ManagementError(exitCode: 1, field: "-", value: .null, message: "\(error)") }
        return .array(all.map { c -> JSONValue in
            .object([("name", .string(c.name)), ("names", .array(c.names.map { .string($0) })),
                     ("not_after", .number(c.notValidAfter.timeIntervalSince1970.rounded())), ("status", .string(c.status)),
                     ("custom", .bool(c.custom))])
        })
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
        do { deleted = try await certificates.delete(name) } catch { throw ManagementError(exitCode: 1, field: "name", value: .string(name), message: "\(error)") }
        guard deleted else { throw ManagementError(exitCode: 2, field: "name", value: .string(name), message: "no certificate \(name)") }
        return .object([("name", .string(name)), ("deleted", .bool(true))])
    }
}

import JSON
import Net

/// `--config FILE`: the domains as JSON, for standalone use without Redis.
///
/// ```json
/// {"domains": [{"name": "example.org", "schema": "rfc2307", "base_dn": "dc=example,dc=org",
///               "bind_dn": "cn=ldapservice,dc=example,dc=org", "bind_password": "…",
///               "tls": "off", "tls_verify": "on",
///               "providers": [{"host": "127.0.0.1", "port": 389, "node": 1}]}]}
/// ```
/// `tls`/`tls_verify` may also be given per provider.
public enum DomainConfigFile {
    /// Parses the file's text.
    /// - Throws: ``DomainConfigError`` naming the entry that is wrong.
    public static func parse(_ text: String) throws(DomainConfigError) -> [LDAPDomain] {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw .invalid("not JSON: \(error)") }
        guard case .array(let entries)? = root["domains"] else { throw .invalid("expected {\"domains\": [ … ]}") }
        var domains: [LDAPDomain] = []
        for (i, entry) in entries.enumerated() {
            func string(_ key: String, in value: JSONValue = entry) -> String? {
                if case .string(let s)? = value[key] { return s }
                return nil
            }
            guard let name = string("name"), !name.isEmpty else { throw .invalid("domains[\(i)] has no \"name\"") }
            guard case .array(let list)? = entry["providers"], !list.isEmpty else {
                throw .invalid("domain \(name) has no \"providers\"")
            }
            let domainTLS = LDAPTLSMode(rawValue: string("tls") ?? "off")
            guard let domainTLS else { throw .invalid("domain \(name): tls must be off, on or starttls") }
            var providers: [LDAPProvider] = []
            for (j, p) in list.enumerated() {
                guard let host = string("host", in: p), case .number(let port)? = p["port"], p["port"]!.isInteger,
                      (1...65535).contains(Int(port)) else {
                    throw .invalid("domain \(name): providers[\(j)] needs \"host\" and a \"port\" number")
                }
                guard let tls = string("tls", in: p).map({ LDAPTLSMode(rawValue: $0) }) ?? domainTLS else {
                    throw .invalid("domain \(name): providers[\(j)]: tls must be off, on or starttls")
                }
                var node: Int?
                if case .number(let n)? = p["node"] { node = Int(n) }
                let verify = Switch.isOn(string("tls_verify", in: p) ?? string("tls_verify"), default: true)
                do {
                    providers.append(LDAPProvider(endpoint: try Endpoint(parsing: "\(host):\(Int(port))"), node: node, tls: tls, tlsVerify: verify))
                } catch {
                    throw .invalid("domain \(name): providers[\(j)]: \(error)")
                }
            }
            domains.append(LDAPDomain(name: name, schema: string("schema") ?? "rfc2307", baseDN: string("base_dn") ?? "",
                                      bindDN: string("bind_dn") ?? "", bindPassword: string("bind_password") ?? "",
                                      providers: providers, isInternal: false))
        }
        return domains
    }
}

/// Domain settings that cannot be used.
public enum DomainConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case unreadable(String)

    public var description: String {
        switch self {
        case .invalid(let why): "domain configuration: \(why)"
        case .unreadable(let why): "domain configuration: \(why)"
        }
    }
}

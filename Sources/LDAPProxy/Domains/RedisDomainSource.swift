import Logging
import Net
import RESP

/// The domains the cluster configures in Redis (REDIS-LAYOUT.md): external
/// ones under `cluster/user_domain/ldap/<domain>/{conf,providers}`, internal
/// ones from every `module/*/srv/tcp/ldap`; internal wins for a name.
struct RedisDomainSource: Sendable {
    let redis: RedisRoutingClient
    let logger: Logger

    func load() async throws(RedisClientError) -> [LDAPDomain] {
        var byName: [String: LDAPDomain] = [:]
        var external = redis.readOnly.scan(match: "cluster/user_domain/ldap/*/conf").makeAsyncIterator()
        while let key = try await external.next() {
            let name = String(key.dropFirst("cluster/user_domain/ldap/".count).dropLast("/conf".count))
            guard !name.isEmpty else { continue }
            let conf = try await redis.readOnly.hgetall(key)
            let list = try await redis.readOnly.lrange("cluster/user_domain/ldap/\(name)/providers", 0, LDAPDomain.maxProviders - 1)
            let tls = LDAPTLSMode(rawValue: conf["tls"]?.lowercased() ?? "off") ?? .off
            let verify = Switch.isOn(conf["tls_verify"], default: true)
            let providers = list.compactMap { text -> LDAPProvider? in
                guard let endpoint = try? Endpoint(parsing: text, defaultPort: tls == .on ? 636 : 389) else {
                    logger.warning("skipping an unusable provider of \(name): \(text)")
                    return nil
                }
                return LDAPProvider(endpoint: endpoint, tls: tls, tlsVerify: verify)
            }
            guard !providers.isEmpty else { continue }
            byName[name] = LDAPDomain(name: name, schema: conf["schema"] ?? "rfc2307", baseDN: conf["base_dn"] ?? "",
                                      bindDN: conf["bind_dn"] ?? "", bindPassword: conf["bind_password"] ?? "",
                                      providers: providers, isInternal: false)
        }
        var internalDomains: [String: LDAPDomain] = [:]
        var services = redis.readOnly.scan(match: "module/*/srv/tcp/ldap").makeAsyncIterator()
        while let key = try await services.next() {
            let s = try await redis.readOnly.hgetall(key)
            guard let name = s["domain"], !name.isEmpty, let host = s["host"], !host.isEmpty, let portText = s["port"],
                  let port = Int(portText), let endpoint = try? Endpoint(parsing: "\(host):\(port)") else {
                logger.debug("skipping \(key): no domain, host or port")
                continue
            }
            let provider = LDAPProvider(endpoint: endpoint, node: s["node"].flatMap { Int($0) },
                                        tls: LDAPTLSMode(rawValue: s["tls"]?.lowercased() ?? "off") ?? .off,
                                        tlsVerify: Switch.isOn(s["tls_verify"], default: true))
            if var existing = internalDomains[name] {
                existing.providers.append(provider)
                internalDomains[name] = existing
            } else {
                internalDomains[name] = LDAPDomain(name: name, schema: s["schema"] ?? "rfc2307", baseDN: s["base_dn"] ?? "",
                                                   bindDN: s["bind_dn"] ?? "", bindPassword: s["bind_password"] ?? "",
                                                   providers: [provider], isInternal: true)
            }
        }
        for (name, domain) in internalDomains {
            var sorted = domain
            sorted.providers.sort { "\($0.endpoint)" < "\($1.endpoint)" }  // SCAN order is arbitrary: keep choices stable
            byName[name] = sorted
        }
        return byName.values.sorted { $0.name < $1.name }
    }
}

@testable import LDAPProxy
import Logging
import Net
import Testing

@Suite("LDAP domains: port map, --config file, provider order")
struct DomainTests {
    @Test("ports: stable for kept domains, lowest free for new ones, a removed domain's port not reused while others are free, a returning domain gets its own back")
    func portMap() throws {
        var map = PortMap(range: 100...103, known: ["a": 101, "stale": 900])
        #expect(map.ports == ["a": 101])
        #expect(try map.update(to: ["a", "b"]) == ["b"])
        #expect(map.ports == ["a": 101, "b": 100])
        #expect(try map.update(to: ["a"]) == ["b"])
        #expect(try map.update(to: ["a", "c"]) == ["c"])
        #expect(map.ports["c"] == 102, "not b's old port 100")
        #expect(try map.update(to: ["a", "b", "c"]) == ["b"])
        #expect(map.ports["b"] == 100, "b came back to its port")
        #expect(try map.update(to: ["a", "b", "c", "d"]) == ["d"])
        #expect(map.ports["d"] == 103)
        #expect(throws: PortMapError.self) { _ = try map.update(to: ["a", "b", "c", "d", "e"]) }
        #expect(map.ports.count == 4, "the domains that fit are kept")
        #expect(map.reassign("d") == nil, "full range")
    }

    @Test("a port of a removed domain is reused only when the range has nothing else")
    func portReuse() throws {
        var map = PortMap(range: 1...2)
        _ = try map.update(to: ["a", "b"])
        _ = try map.update(to: ["a"])
        _ = try map.update(to: ["a", "c"])
        #expect(map.ports["c"] == map.ports.values.filter { $0 != map.ports["a"] }.first)
        #expect(Set(map.ports.values) == [1, 2])
    }

    @Test("--config: domains, per-provider TLS, clear errors")
    func configFile() throws {
        let domains = try DomainConfigFile.parse("""
            {"domains": [{"name": "example.org", "base_dn": "dc=example,dc=org", "tls": "starttls", "tls_verify": "off",
              "providers": [{"host": "10.0.0.1", "port": 389, "node": 1}, {"host": "ldap.example.org", "port": 636, "tls": "on"}]}]}
            """)
        #expect(domains.count == 1)
        #expect(domains[0].providers == [
            LDAPProvider(endpoint: Endpoint(host: "10.0.0.1", port: 389), node: 1, tls: .starttls, tlsVerify: false),
            LDAPProvider(endpoint: Endpoint(host: "ldap.example.org", port: 636), tls: .on, tlsVerify: false),
        ])
        #expect(throws: DomainConfigError.invalid("domain x has no \"providers\"")) { _ = try DomainConfigFile.parse(#"{"domains":[{"name":"x"}]}"#) }
        #expect(throws: DomainConfigError.self) { _ = try DomainConfigFile.parse(#"{"domains":[{"name":"x","providers":[{"host":"h","port":70000}]}]}"#) }
        #expect(throws: DomainConfigError.self) { _ = try DomainConfigFile.parse(#"{"domains":[{"name":"x","tls":"maybe","providers":[{"host":"h","port":1}]}]}"#) }
        #expect(throws: DomainConfigError.self) { _ = try DomainConfigFile.parse("[]") }
    }

    @Test("order: healthy providers of this node first, round-robin, then the others in list order; down ones skipped")
    func choice() {
        let p = (1...4).map { LDAPProvider(endpoint: Endpoint(host: "10.0.0.\($0)", port: 389), node: $0 == 4 ? 2 : ($0 == 1 ? 3 : 2)) }
        // p0: node 3; p1, p2, p3: node 2
        let health = ProviderHealth(logger: Logger(label: "test"))
        let choice = ProviderChoice(domain: LDAPDomain(name: "d", providers: p), nodeID: 2, health: health)
        #expect(choice.order() == [p[1], p[2], p[3], p[0]])
        #expect(choice.order() == [p[2], p[3], p[1], p[0]])
        #expect(choice.order() == [p[3], p[1], p[2], p[0]])
        health.record(p[2], up: false, error: "refused", via: "test")
        #expect(!choice.order().contains(p[2]))
        #expect(choice.order().last == p[0])
        for x in p { health.record(x, up: false, via: "test") }
        #expect(choice.order().isEmpty)
        let noNode = ProviderChoice(domain: LDAPDomain(name: "d", providers: p), nodeID: nil, health: ProviderHealth(logger: Logger(label: "t")))
        #expect(noNode.order() == p)
    }
}

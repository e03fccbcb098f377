import Foundation
import LDAPProxy
import NetTestSupport
import NIOCore
import Testing

/// True once `bytes` hold a whole `searchResultDone` (or any final response for `id`).
@Sendable func hasFinalResponse(_ bytes: [UInt8]) -> Bool {
    var buffer = ByteBuffer(bytes: bytes)
    while let frame = try? LDAPMessageFrame.parse(from: &buffer, limit: 1 << 26) {
        if frame.operation.isFinalResponse { return true }
    }
    return false
}

/// What the server sends back for `request`, byte for byte.
func rawLDAPExchange(port: Int, _ request: ByteBuffer) async throws -> [UInt8] {
    let client = try RawClient(port: port)
    client.send(Array(request.readableBytesView))
    return await client.readBytes(until: hasFinalResponse)
}

extension LDAPProxySuites {
    @Suite("relay")
    struct Relay {
        @Test("search and bind through the proxy give what slapd gives directly, byte for byte; 5,000 entries, paged; binds logged without password; metrics")
        func identical() async throws {
            try await withLDAP(users: 5000) { slapds, h in
                let slapd = slapds[0]
                try h.writeConfig([LDAPProxyHarness.domain("example.org", providers: [(slapd.port, 1, "off")])])
                let metrics = freePort()
                try await h.start(["--config-from-harness", "--metrics-address", "127.0.0.1:\(metrics)"])
                let domainPort = try #require(try await h.domainPort("example.org"))
                #expect(h.portRange.contains(domainPort))

                for port in [h.port, domainPort] {
                    let direct = try await ldapsearch(slapd.port, "(uid=user42)", ["cn", "mail", "uidNumber"])
                    let proxied = try await ldapsearch(port, "(uid=user42)", ["cn", "mail", "uidNumber"])
                    #expect(direct.status == 0)
                    #expect(proxied.output == direct.output)
                    #expect(proxied.output.contains("dn: uid=user42,ou=people,dc=example,dc=org"))
                }
                // Every entry, paged (500 per page), and unpaged: the same 5,000+ entries in the same order.
                let pagedDirect = try await ldapsearch(slapd.port, "(objectClass=posixAccount)", ["uid"], extra: ["-E", "pr=500/noprompt"])
                let pagedProxied = try await ldapsearch(domainPort, "(objectClass=posixAccount)", ["uid"], extra: ["-E", "pr=500/noprompt"])
                #expect(pagedProxied.status == 0)
                #expect(pagedProxied.output.components(separatedBy: "\ndn: ").count >= 5000)
                #expect(pagedProxied.output == pagedDirect.output)
                let all = try await ldapsearch(domainPort, "(objectClass=*)", ["*"])
                #expect(all.output == (try await ldapsearch(slapd.port, "(objectClass=*)", ["*"])).output)

                // The wire bytes of a whole search exchange are the same.
                let request = LDAPMessages.search(id: 7, base: SlapdServer.suffix, attribute: "uid", value: "user4242", attributes: ["cn", "mail"])
                let directBytes = try await rawLDAPExchange(port: slapd.port, request)
                #expect(!directBytes.isEmpty)
                #expect(try await rawLDAPExchange(port: domainPort, request) == directBytes)

                // Binds: success and a wrong password, as slapd answers them.
                let dn = "uid=user7,ou=people,dc=example,dc=org"
                let good = try await ldapTool("ldapwhoami", ["-x", "-H", "ldap://127.0.0.1:\(domainPort)", "-D", dn, "-w", "password7"])
                #expect(good.status == 0)
                #expect(good.output.contains("dn:\(dn)"))
                let bad = try await ldapTool("ldapwhoami", ["-x", "-H", "ldap://127.0.0.1:\(domainPort)", "-D", dn, "-w", "not-the-password"])
                let badDirect = try await ldapTool("ldapwhoami", ["-x", "-H", slapd.url, "-D", dn, "-w", "not-the-password"])
                #expect(bad.status == 49)
                #expect(bad.output == badDirect.output)
                #expect(await h.waitForLog("bind dn=\(dn)"))
                #expect(!h.log.contains("password7"))
                #expect(!h.log.contains("not-the-password"))

                let scrape = try await rawExchange(port: metrics, send: "GET /metrics HTTP/1.0\r\n\r\n") { _ in false }
                #expect(scrape.contains("nscore_ldap_operations_total{domain=\"example.org\",operation=\"search\"}"))
                #expect(scrape.contains("nscore_ldap_results_total{domain=\"example.org\",provider=\"127.0.0.1:\(slapd.port)\",code=\"49\"}"))
                // Latency recorded for the answered requests (each found in the connection's pending requests).
                let timed = scrape.split(separator: "\n").first { $0.hasPrefix("nscore_ldap_response_seconds_count{") }
                #expect((timed?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0, "\(timed ?? "no response_seconds_count")")
            }
        }

        @Test("200 concurrent libldap clients, each bound, each searching")
        func concurrentClients() async throws {
            try await withLDAP(users: 300) { slapds, h in
                try h.writeConfig([LDAPProxyHarness.domain("example.org", providers: [(slapds[0].port, nil, "off")])])
                try await h.start()
                let clients = try (0..<200).map { _ in try LibLDAPClient("ldap://127.0.0.1:\(h.port)") }
                let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                    for (i, client) in clients.enumerated() {
                        group.addTask {
                            try await blockingPool.runIfActive {
                                let n = i + 1
                                guard client.bind("uid=user\(n),ou=people,dc=example,dc=org", "password\(n)") == 0 else { return 1 }
                                var bad = 0
                                for k in 0..<5 {
                                    let uid = (n + k * 37) % 300 + 1
                                    let found = try client.search(base: SlapdServer.suffix, filter: "(uid=user\(uid))").get()
                                    if found.count != 1 || found[0].values != ["User \(uid)"] { bad += 1 }
                                }
                                return bad
                            }
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(failures == 0)
                let open = try await h.status()["default"]?["connections"]
                #expect(open == .number(200))
            }
        }
    }
}

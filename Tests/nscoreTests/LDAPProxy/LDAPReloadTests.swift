import Foundation
import NetTestSupport
import Testing

extension LDAPProxySuites {
    @Suite("domains: reload, ports")
    struct Domains {
        @Test("SIGHUP adds and removes domains; clients of a kept and of the removed domain stay connected; the removed port refuses new clients; ports survive a restart (--state-file)")
        func reload() async throws {
            try await withLDAP(slapds: 2) { slapds, h in
                let state = h.root + "/ports.json"
                try h.writeConfig([LDAPProxyHarness.domain("one.test", providers: [(slapds[0].port, nil, "off")]),
                                   LDAPProxyHarness.domain("two.test", providers: [(slapds[1].port, nil, "off")])])
                try await h.start(["--config-from-harness", "--state-file", state])
                let onePort = try #require(try await h.domainPort("one.test"))
                let twoPort = try #require(try await h.domainPort("two.test"))
                let kept = try LibLDAPClient("ldap://127.0.0.1:\(onePort)")
                #expect(kept.bind("uid=user1,ou=people,dc=example,dc=org", "password1") == 0)
                let leaving = try LibLDAPClient("ldap://127.0.0.1:\(twoPort)")
                #expect(leaving.bind("uid=user2,ou=people,dc=example,dc=org", "password2") == 0)

                try h.writeConfig([LDAPProxyHarness.domain("one.test", providers: [(slapds[0].port, nil, "off")]),
                                   LDAPProxyHarness.domain("three.test", providers: [(slapds[1].port, nil, "off")])])
                h.signal(SIGHUP)
                #expect(await h.waitForLog("domain two.test removed"))
                #expect(await h.waitForLog("domain three.test added"))
                let threePort = try #require(try await h.domainPort("three.test"))
                #expect(try await h.domainPort("one.test") == onePort)
                #expect(try await h.domainPort("two.test") == nil)
                #expect(throws: (any Error).self) { _ = try RawClient(port: twoPort) }
                #expect(try await ldapsearch(threePort, "(uid=user3)").output.contains("dn: uid=user3,"))
                for (client, uid) in [(kept, 4), (leaving, 5)] {
                    let found = try await blockingPool.runIfActive { try client.search(base: SlapdServer.suffix, filter: "(uid=user\(uid))").get() }
                    #expect(found.map(\.dn) == ["uid=user\(uid),ou=people,dc=example,dc=org"])
                }

                // A restart keeps every port.
                #expect(await h.stop() == 0)
                try await h.start(["--config-from-harness", "--state-file", state])
                #expect(try await h.domainPort("one.test") == onePort)
                #expect(try await h.domainPort("three.test") == threePort)
                #expect(try await ldapsearch(threePort, "(uid=user6)").status == 0)
            }
        }

        @Test("a bad domain file on SIGHUP keeps the domains served, with an error in the log")
        func badReload() async throws {
            try await withLDAP { slapds, h in
                try h.writeConfig([LDAPProxyHarness.domain("one.test", providers: [(slapds[0].port, nil, "off")])])
                try await h.start()
                try "{\"domains\": [ {\"name\": \"x\"} ]}".write(toFile: h.configPath, atomically: true, encoding: .utf8)
                h.signal(SIGHUP)
                #expect(await h.waitForLog("domain x has no \"providers\""))
                #expect(try await ldapsearch(h.port, "(uid=user1)").status == 0)
            }
        }
    }
}

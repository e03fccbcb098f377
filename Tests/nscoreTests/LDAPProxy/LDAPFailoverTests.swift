import Foundation
import LDAPProxy
import NetTestSupport
import NIOCore
import Testing

/// The notice of disconnection a refused client gets (nil when something else came).
func noticeCode(_ bytes: [UInt8]) -> Int? {
    var buffer = ByteBuffer(bytes: bytes)
    guard let frame = try? LDAPMessageFrame.parse(from: &buffer, limit: 1 << 20), frame.messageID == 0,
          frame.extendedName == LDAPMessages.noticeOfDisconnectionOID else { return nil }
    return frame.resultCode
}

/// Connects, sends a search, and returns the notice the proxy answers with (nil for anything else).
func refusalCode(port: Int) async throws -> Int? {
    let client = try RawClient(port: port)
    client.send(Array(LDAPMessages.search(id: 1, base: SlapdServer.suffix, attribute: "uid", value: "user1").readableBytesView))
    let reply = await client.readBytes(until: hasFinalResponse)
    #expect(await client.isClosedByPeer())
    return noticeCode(reply)
}

extension LDAPProxySuites {
    @Suite("providers: failover, recovery, TLS")
    struct Providers {
        @Test("the provider on this node first; when it stops, established clients are closed and new ones go to the next at once; it is used again once a check sees it back; none up: unavailable (52)")
        func failover() async throws {
            try await withLDAP(slapds: 2) { slapds, h in
                let (local, remote) = (slapds[0], slapds[1])
                try h.writeConfig([LDAPProxyHarness.domain("example.org", providers: [(remote.port, 2, "off"), (local.port, 1, "off")])])
                try await h.start(["--config-from-harness", "--node-id", "1"])
                let viaLocal = "upstream=127.0.0.1:\(local.port)"
                let established = try LibLDAPClient("ldap://127.0.0.1:\(h.port)")
                #expect(established.bind("uid=user1,ou=people,dc=example,dc=org", "password1") == 0)
                #expect(await h.waitForLog(viaLocal))

                await local.pause()
                let stopped = ContinuousClock.now
                // The established client sees its connection closed (not a hang) …
                let after = try await blockingPool.runIfActive { established.search(base: SlapdServer.suffix, filter: "(uid=user2)") }
                guard case .failure(let error) = after else { Issue.record("a search on a connection to a stopped provider succeeded"); return }
                #expect(error.code == -1)  // LDAP_SERVER_DOWN
                // … and a new one is served by the other provider within one check interval.
                let next = try await ldapsearch(h.port, "(uid=user2)")
                #expect(next.status == 0)
                #expect(next.output.contains("dn: uid=user2,"))
                #expect(ContinuousClock.now - stopped < .seconds(3))
                #expect(await h.waitForLog("provider 127.0.0.1:\(local.port) is down"))
                #expect(try await h.health("example.org", providerPort: local.port) == "down")

                try await local.restart()
                #expect(await h.waitForLog("provider 127.0.0.1:\(local.port) is up again"))
                let usesBefore = h.log.components(separatedBy: viaLocal).count
                #expect(try await ldapsearch(h.port, "(uid=user3)").status == 0)
                #expect(h.log.components(separatedBy: viaLocal).count == usesBefore + 1)

                await local.pause()
                await remote.pause()
                #expect(try await refusalCode(port: h.port) == 52)
                #expect(await h.waitForLog("no provider of domain example.org is reachable"))
                try await remote.restart()
                #expect(await waitFor(timeout: .seconds(5)) { (try? await ldapsearch(h.port, "(uid=user4)"))?.status == 0 })
            }
        }

        @Test("tls=on and tls=starttls with verification against --ca-file; the wrong CA: no connection, a clear log line, unavailable to the client")
        func tls() async throws {
            let ca = try await TestCA()
            let otherCA = try await TestCA(name: "some-other-ca")
            try await withLDAP(ca: ca) { slapds, h in
                let slapd = slapds[0]
                try h.writeConfig([
                    LDAPProxyHarness.domain("ldaps.test", providers: [(slapd.tlsPort, nil, "on")]),
                    LDAPProxyHarness.domain("byname.test", providers: [(slapd.tlsPort, nil, "on")], host: "localhost"),
                    LDAPProxyHarness.domain("starttls.test", providers: [(slapd.port, nil, "starttls")]),
                    LDAPProxyHarness.domain("noverify.test", providers: [(slapd.tlsPort, nil, "on")], verify: "off"),
                ])
                try await h.start(["--config-from-harness", "--ca-file", ca.caCertificate])
                for domain in ["ldaps.test", "byname.test", "starttls.test", "noverify.test"] {
                    let port = try #require(try await h.domainPort(domain))
                    let r = try await ldapsearch(port, "(uid=user5)")
                    #expect(r.status == 0, "\(domain): \(r.output)")
                    #expect(r.output.contains("dn: uid=user5,ou=people,dc=example,dc=org"), "\(domain)")
                }
                _ = await h.stop()

                try await h.start(["--config-from-harness", "--ca-file", otherCA.caCertificate])
                for domain in ["ldaps.test", "starttls.test"] {
                    let port = try #require(try await h.domainPort(domain))
                    #expect(try await refusalCode(port: port) == 52, "\(domain)")
                    #expect(try await ldapsearch(port, "(uid=user5)").status != 0)
                }
                #expect(await h.waitForLog("provider 127.0.0.1:\(slapd.tlsPort) (on) is down"))
                #expect(await h.waitForLog("provider 127.0.0.1:\(slapd.port) (starttls) is down"))
                #expect(h.log.contains("certificate"))
                // Verification off still connects through the wrong CA.
                let port = try #require(try await h.domainPort("noverify.test"))
                #expect(try await ldapsearch(port, "(uid=user5)").status == 0)
            }
        }
    }
}

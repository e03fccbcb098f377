import Foundation
import LDAPProxy
import NetTestSupport
import NIOCore
import Testing

/// A search request of exactly `size` bytes (the value padded).
func searchOfSize(_ size: Int, id: Int32 = 9) -> [UInt8] {
    for pad in 0..<size {
        let m = LDAPMessages.search(id: id, base: SlapdServer.suffix, attribute: "description", value: String(repeating: "x", count: pad))
        if m.readableBytes == size { return Array(m.readableBytesView) }
        if m.readableBytes > size { break }
    }
    fatalError("no search request of \(size) bytes")
}

extension LDAPProxySuites {
    @Suite("bad input")
    struct BadInput {
        @Test("garbage, an indefinite length, a 2 GiB length, a message over --max-message-size, half a message then silence: each closes only that client with a notice and a log line; memory stays flat")
        func badInput() async throws {
            try await withLDAP { slapds, h in
                try h.writeConfig([LDAPProxyHarness.domain("example.org", providers: [(slapds[0].port, nil, "off")])])
                try await h.start(["--config-from-harness", "--max-message-size", "4096", "--message-timeout", "1", "--log-level", "info"])
                let bystander = try LibLDAPClient("ldap://127.0.0.1:\(h.port)")
                #expect(bystander.bind("uid=user1,ou=people,dc=example,dc=org", "password1") == 0)

                let cases: [(name: String, bytes: [UInt8], log: String)] = [
                    ("garbage", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), "not an LDAPMessage: starts with tag 0x47"),
                    ("indefinite length", [0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00], "indefinite BER length"),
                    ("2 GiB length", [0x30, 0x84, 0x80, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01], "message of 2147483654 bytes is over the limit of 4096"),
                    ("just over the limit", searchOfSize(4097), "message of 4097 bytes is over the limit of 4096"),
                    ("half a message", Array(searchOfSize(200).prefix(100)), "sent 100 bytes of a message, then nothing for 1000 ms"),
                ]
                for c in cases {
                    let client = try RawClient(port: h.port)
                    client.send(c.bytes)
                    let reply = await client.readBytes(until: hasFinalResponse)
                    #expect(noticeCode(reply) == 2, "\(c.name): a protocolError notice")
                    #expect(await client.isClosedByPeer(), "\(c.name)")
                    #expect(await h.waitForLog(c.log), "\(c.name)")
                }
                // A message right at the limit goes through.
                let atLimit = try RawClient(port: h.port)
                atLimit.send(searchOfSize(4096))
                var reply = ByteBuffer(bytes: await atLimit.readBytes(until: hasFinalResponse))
                let done = try #require(try LDAPMessageFrame.parse(from: &reply, limit: 1 << 20))
                #expect(done.operation == .searchResultDone && done.resultCode == 0)

                // Memory: the same bad input 600 more times, 20 at once, after a warm-up.
                func storm(_ rounds: Int) async throws {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for i in 0..<rounds {
                            group.addTask {
                                let c = try RawClient(port: h.port)
                                c.send(cases[i % 4].bytes)
                                _ = await c.readBytes(until: hasFinalResponse)
                            }
                            if i % 20 == 19 { try await group.waitForAll() }
                        }
                        try await group.waitForAll()
                    }
                }
                try await storm(200)
                let before = h.rssKiB()
                try await storm(600)
                let after = h.rssKiB()
                #expect(after - before < 4096, "RSS grew from \(before) KiB to \(after) KiB")
                let found = try await blockingPool.runIfActive { try bystander.search(base: SlapdServer.suffix, filter: "(uid=user2)").get() }
                #expect(found.count == 1, "the client that behaved is still served")
            }
        }
    }
}

@testable import LDAPProxy
import NIOCore
import Testing

private func frames(_ chunks: [[UInt8]], limit: Int = 1 << 20) throws -> [LDAPMessageFrame] {
    var buffer = ByteBuffer()
    var out: [LDAPMessageFrame] = []
    for c in chunks {
        buffer.writeBytes(c)
        while let f = try LDAPMessageFrame.parse(from: &buffer, limit: limit) { out.append(f) }
    }
    return out
}

@Suite("LDAPMessage framing (BER envelope)")
struct LDAPFramingTests {
    let bind = Array(LDAPMessages.simpleBind(id: 1, dn: "cn=admin,dc=example,dc=org", password: "secret").readableBytesView)
    let search = Array(LDAPMessages.search(id: 2, base: "dc=example,dc=org", attribute: "uid", value: "user1",
                                           attributes: ["cn", "mail"]).readableBytesView)
    let unbind = Array(LDAPMessages.unbind(id: 300).readableBytesView)

    @Test("whole messages with id, operation, bind DN; split at every byte")
    func envelope() throws {
        let stream = bind + search + unbind
        let all = try frames([stream])
        #expect(all.map(\.messageID) == [1, 2, 300])
        #expect(all.map(\.operation) == [.bindRequest, .searchRequest, .unbindRequest])
        #expect(all[0].bindDN == "cn=admin,dc=example,dc=org")
        #expect(Array(all[1].bytes.readableBytesView) == search)
        for cut in 1..<stream.count {
            #expect(try frames([Array(stream[..<cut]), Array(stream[cut...])]).map(\.messageID) == [1, 2, 300], "cut \(cut)")
        }
    }

    @Test("responses: result codes, the notice of disconnection, Start TLS")
    func responses() throws {
        let notice = try #require(try frames([Array(LDAPMessages.noticeOfDisconnection(.unavailable, "no provider").readableBytesView)]).first)
        #expect(notice.messageID == 0)
        #expect(notice.operation == .extendedResponse)
        #expect(notice.resultCode == 52)
        #expect(notice.extendedName == LDAPMessages.noticeOfDisconnectionOID)
        let start = try #require(try frames([Array(LDAPMessages.startTLS(id: 1).readableBytesView)]).first)
        #expect(start.extendedName == LDAPMessages.startTLSOID)
        // A bindResponse with success and a long-form length (0x81).
        let body: [UInt8] = [0x02, 0x01, 0x07, 0x61, 0x81, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]
        let response = try #require(try frames([[0x30, UInt8(body.count)] + body]).first)
        #expect(response.operation == .bindResponse)
        #expect(response.resultCode == 0)
    }

    @Test("bad bytes are refused before buffering: garbage, indefinite length, a 2 GiB claim, just over the limit")
    func refusals() throws {
        #expect(throws: LDAPFramingError.notAnLDAPMessage("starts with tag 0x47, not SEQUENCE")) { try frames([Array("GET / HTTP/1.1\r\n".utf8)]) }
        #expect(throws: LDAPFramingError.indefiniteLength) { try frames([[0x30, 0x80, 0x02, 0x01, 0x01]]) }
        #expect(throws: LDAPFramingError.tooLarge(claimed: 0x8000_0000 + 6, limit: 16 << 20)) {
            try frames([[0x30, 0x84, 0x80, 0x00, 0x00, 0x00]], limit: 16 << 20)
        }
        #expect(throws: LDAPFramingError.invalidLength("5 length bytes")) { try frames([[0x30, 0x85, 1, 0, 0, 0, 0]]) }
        let justOver = bind.count - 1
        #expect(throws: LDAPFramingError.tooLarge(claimed: bind.count, limit: justOver)) { try frames([bind], limit: justOver) }
        #expect(try frames([bind], limit: bind.count).count == 1)
        #expect(throws: LDAPFramingError.self) { try frames([[0x30, 0x03, 0x04, 0x01, 0x41]]) }  // no messageID
        #expect(throws: LDAPFramingError.self) { try frames([[0x30, 0x05, 0x02, 0x01, 0x01, 0x7F, 0x00]]) }  // unknown operation
        // Half a message waits without error.
        #expect(try frames([Array(bind.prefix(5))]).isEmpty)
    }
}

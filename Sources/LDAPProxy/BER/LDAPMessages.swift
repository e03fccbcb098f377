public import NIOCore

/// The few messages the proxy writes itself (health checks, Start TLS,
/// the notice of disconnection) and its load generator sends, in BER.
public enum LDAPMessages {
    /// The Start TLS extended operation's OID (RFC 4511 §4.14).
    public static let startTLSOID = "1.3.6.1.4.1.1466.20037"
    /// The Notice of Disconnection's OID (RFC 4511 §4.4.1).
    public static let noticeOfDisconnectionOID = "1.3.6.1.4.1.1466.20036"

    /// LDAP result codes the proxy uses.
    public enum ResultCode: Int, Sendable {
        case success = 0, protocolError = 2, unavailable = 52
    }

    static func length(_ n: Int, into out: inout [UInt8]) {
        if n < 0x80 { out.append(UInt8(n)); return }
        var bytes: [UInt8] = []
        var v = n
        while v > 0 { bytes.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
        out.append(0x80 | UInt8(bytes.count))
        out += bytes
    }

    static func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var out = [tag]
        length(contents.count, into: &out)
        return out + contents
    }

    static func integer(_ v: Int, tag: UInt8 = 0x02) -> [UInt8] {
        var bytes: [UInt8] = []
        var x = v
        repeat { bytes.insert(UInt8(truncatingIfNeeded: x), at: 0); x >>= 8 } while x != 0 && x != -1
        if v >= 0, bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return tlv(tag, bytes)
    }

    static func octets(_ s: String, tag: UInt8 = 0x04) -> [UInt8] { tlv(tag, Array(s.utf8)) }

    static func message(_ id: Int32, _ op: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: tlv(0x30, integer(Int(id)) + op))
    }

    /// `ExtendedRequest` for Start TLS.
    public static func startTLS(id: Int32) -> ByteBuffer {
        message(id, tlv(0x77, octets(startTLSOID, tag: 0x80)))
    }

    /// The unsolicited notice sent before closing a client (messageID 0).
    public static func noticeOfDisconnection(_ code: ResultCode, _ text: String) -> ByteBuffer {
        message(0, tlv(0x78, integer(code.rawValue, tag: 0x0A) + octets("") + octets(text) + octets(noticeOfDisconnectionOID, tag: 0x8A)))
    }

    /// A base-scope search of the root DSE for `attributes` (the health check).
    public static func rootDSESearch(id: Int32, attributes: [String] = ["namingContexts"]) -> ByteBuffer {
        search(id: id, base: "", scope: 0, filter: tlv(0x87, Array("objectClass".utf8)), attributes: attributes)
    }

    /// A subtree search with an equality filter (`(attribute=value)`).
    public static func search(id: Int32, base: String, attribute: String, value: String, attributes: [String] = []) -> ByteBuffer {
        search(id: id, base: base, scope: 2, filter: tlv(0xA3, octets(attribute) + octets(value)), attributes: attributes)
    }

    static func search(id: Int32, base: String, scope: Int, filter: [UInt8], attributes: [String]) -> ByteBuffer {
        let op = octets(base) + integer(scope, tag: 0x0A) + integer(0, tag: 0x0A) + integer(0) + integer(0)
            + tlv(0x01, [0x00]) + filter + tlv(0x30, attributes.flatMap { octets($0) })
        return message(id, tlv(0x63, op))
    }

    /// A simple bind (version 3).
    public static func simpleBind(id: Int32, dn: String, password: String) -> ByteBuffer {
        message(id, tlv(0x60, integer(3) + octets(dn) + octets(password, tag: 0x80)))
    }

    /// `UnbindRequest`.
    public static func unbind(id: Int32) -> ByteBuffer {
        message(id, [0x42, 0x00])
    }
}

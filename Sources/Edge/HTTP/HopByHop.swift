import NIOCore

/// The fields that describe one connection, not the message (RFC 9110 §7.6.1):
/// a proxy drops them, and any field the `Connection` header names, before
/// passing a message on. Names are compared on the received bytes, without
/// lower-cased copies.
struct HopByHop {
    /// Keep `Upgrade` (a request or 101 that switches protocols).
    var keepUpgrade = false
    /// Keep `Transfer-Encoding` (a chunked body forwarded as it came).
    var keepTransferEncoding = true
    /// Drop `Content-Length` (a response with Transfer-Encoding too: the coding wins, RFC 9112 §6.3).
    var dropContentLength = false
    /// Also drop the client's `X-Forwarded-*` (the edge writes its own).
    var dropForwarded = false
    /// Fields the `Connection` header names (lower-cased), besides its options.
    private let named: [Substring]

    init(_ head: MessageHead) {
        var named: [Substring] = []
        head.forEachToken("connection") { token in
            if !head.bytes.equalsIgnoringCase(token, "keep-alive"), !head.bytes.equalsIgnoringCase(token, "close"),
               !head.bytes.equalsIgnoringCase(token, "upgrade") {
                named.append(Substring(head.string(token).lowercased()))
            }
            return true
        }
        self.named = named
    }

    /// Whether `field` of `head` is left out of the forwarded message.
    func drops(_ field: MessageHead.Field, of head: MessageHead) -> Bool {
        let name = field.name
        let bytes = head.bytes
        switch name.count {
        case 2: return bytes.equalsIgnoringCase(name, "te")
        case 7: return bytes.equalsIgnoringCase(name, "trailer") || !keepUpgrade && bytes.equalsIgnoringCase(name, "upgrade")
        case 10: return bytes.equalsIgnoringCase(name, "connection") || bytes.equalsIgnoringCase(name, "keep-alive") || isNamed(name, bytes)
        case 14: return dropContentLength && bytes.equalsIgnoringCase(name, "content-length") || isNamed(name, bytes)
        case 15: return dropForwarded && bytes.equalsIgnoringCase(name, "x-forwarded-for") || isNamed(name, bytes)
        case 16: return bytes.equalsIgnoringCase(name, "proxy-connection") || dropForwarded && bytes.equalsIgnoringCase(name, "x-forwarded-host")
            || isNamed(name, bytes)
        case 17: return !keepTransferEncoding && bytes.equalsIgnoringCase(name, "transfer-encoding")
            || dropForwarded && bytes.equalsIgnoringCase(name, "x-forwarded-proto") || isNamed(name, bytes)
        default: return isNamed(name, bytes)
        }
    }

    private func isNamed(_ name: Range<Int>, _ bytes: ByteBuffer) -> Bool {
        !named.isEmpty && named.contains { token in token.utf8.count == name.count && bytes.getString(at: name.lowerBound, length: name.count)?.lowercased() == String(token) }
    }
}

import NIOHTTP1

/// The headers that describe one connection, not the message (RFC 9110 §7.6.1):
/// a proxy drops them, and any header the `Connection` header names, before
/// passing a message on. One pass over the headers; names are compared without
/// lower-casing copies.
enum HopByHop {
    /// Dropped from requests (`transfer-encoding` stays: NIO frames the body to the backend from it).
    private static let request = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]
    /// Dropped from responses (NIO frames the body to the client itself).
    private static let response = request + ["transfer-encoding"]
    /// `Connection` tokens that name no header to drop.
    private static let options = ["keep-alive", "close", "upgrade"]

    /// `headers` without hop-by-hop fields; `upgrade` is kept when the message switches protocols.
    static func strip(_ headers: HTTPHeaders, isRequest: Bool, keepUpgrade: Bool) -> HTTPHeaders {
        let fixed = isRequest ? request : response
        // Headers the Connection header names (rare: usually it only says keep-alive or close).
        var named: [Substring] = []
        for token in headers[canonicalForm: "connection"] where !options.contains(where: { same(token, $0) }) { named.append(token) }
        var out = HTTPHeaders()
        out.reserveCapacity(headers.count + 3)
        for (name, value) in headers {
            let drop = fixed.contains { same(name, $0) } && !(keepUpgrade && same(name, "upgrade")) || named.contains { same(name, $0) }
            if !drop { out.add(name: name, value: value) }
        }
        return out
    }

    /// ASCII case-insensitive equality.
    static func same(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).allSatisfy { x, y in x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) }
    }
}

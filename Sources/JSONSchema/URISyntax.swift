/// RFC 3986 syntax checks for the `uri` and `uri-reference` formats.
enum URISyntax {
    private static let unreserved = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".utf8)
    private static let subDelims = Set("!$&'()*+,;=".utf8)

    /// An absolute URI: `scheme:` hier-part, optional query and fragment.
    static func isURI(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":"), isScheme(text[..<colon]) else { return false }
        return isRelativePart(text[text.index(after: colon)...], allowColonInFirstSegment: true)
    }

    /// A URI or a relative reference.
    static func isReference(_ text: String) -> Bool {
        if let colon = text.firstIndex(of: ":"), isScheme(text[..<colon]) { return isURI(text) }
        return isRelativePart(Substring(text), allowColonInFirstSegment: false)
    }

    private static func isScheme(_ s: Substring) -> Bool {
        guard let first = s.first, first.isASCII, first.isLetter else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }
    }

    /// `[//authority]path[?query][#fragment]`.
    private static func isRelativePart(_ text: Substring, allowColonInFirstSegment: Bool) -> Bool {
        var rest = text
        var fragment: Substring?
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        var query: Substring?
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        if let fragment, !isChars(fragment, extra: ":@/?") { return false }
        if let query, !isChars(query, extra: ":@/?") { return false }
        var path = rest
        if rest.hasPrefix("//") {
            let afterSlashes = rest.dropFirst(2)
            let end = afterSlashes.firstIndex(of: "/") ?? afterSlashes.endIndex
            guard isAuthority(afterSlashes[..<end]) else { return false }
            path = afterSlashes[end...]
        } else if !allowColonInFirstSegment, let firstSegment = path.split(separator: "/", omittingEmptySubsequences: false).first,
                  !path.hasPrefix("/"), firstSegment.contains(":") {
            return false
        }
        return isChars(path, extra: ":@/")
    }

    private static func isAuthority(_ a: Substring) -> Bool {
        var host = a
        if let at = a.firstIndex(of: "@") {
            let user = a[..<at]
            guard isChars(user, extra: ":") else { return false }
            host = a[a.index(after: at)...]
        }
        if host.first == "[" {
            guard let close = host.firstIndex(of: "]") else { return false }
            let literal = host[host.index(after: host.startIndex)..<close]
            let after = host[host.index(after: close)...]
            guard literal.hasPrefix("v") || literal.hasPrefix("V") || JSONSchemaFormat.isIPv6(String(literal)) else { return false }
            return after.isEmpty || (after.first == ":" && after.dropFirst().allSatisfy { $0.isASCII && $0.isNumber })
        }
        if let colon = host.lastIndex(of: ":") {
            guard host[host.index(after: colon)...].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = host[..<colon]
        }
        return isChars(host, extra: "")
    }

    /// Unreserved, sub-delims, `extra` and well-formed `%XX` only.
    private static func isChars(_ s: Substring, extra: String) -> Bool {
        let allowedExtra = Set(extra.utf8)
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, JSONSchemaFormat.isHex(bytes[i + 1]), JSONSchemaFormat.isHex(bytes[i + 2]) else {
                    return false
                }
                i += 3
                continue
            }
            guard unreserved.contains(c) || subDelims.contains(c) || allowedExtra.contains(c) else { return false }
            i += 1
        }
        return true
    }
}

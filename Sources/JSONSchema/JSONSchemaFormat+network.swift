extension JSONSchemaFormat {
    /// Dotted-quad IPv4 (RFC 2673 §3.2): four decimal octets, no leading zeros.
    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  p == "0" || p.first != "0", let v = Int(p), v <= 255 else { return false }
        }
        return true
    }

    static func isIPv4(_ text: String) -> Bool { isIPv4(Substring(text)) }

    /// IPv6 text form (RFC 4291 §2.2), with an optional trailing IPv4 part.
    static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.allSatisfy(\.isASCII) else { return false }
        var body = Substring(text)
        var available = 8
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(body[body.index(after: lastColon)...]) else { return false }
            available = 6
            body = body[...lastColon]
            if !body.hasSuffix("::") { body = body.dropLast() }
        }
        func hexGroups(_ s: Substring) -> Int? {
            if s.isEmpty { return 0 }
            let g = s.split(separator: ":", omittingEmptySubsequences: false)
            for x in g { guard (1...4).contains(x.count), x.utf8.allSatisfy(isHex) else { return nil } }
            return g.count
        }
        let gaps = body.ranges(of: "::")
        switch gaps.count {
        case 0:
            return hexGroups(body) == available
        case 1:
            guard let a = hexGroups(body[..<gaps[0].lowerBound]), let b = hexGroups(body[gaps[0].upperBound...]) else {
                return false
            }
            return a + b <= available - 1
        default:
            return false
        }
    }

    /// RFC 1123 host name: LDH labels of 1–63, 253 in all; `xn--` labels must be valid IDNA A-labels.
    static func isHostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253, text.allSatisfy(\.isASCII) else { return false }
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.count), label.first != "-", label.last != "-",
                  label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return false }
            let lower = label.lowercased()
            if lower.hasPrefix("xn--") {
                guard IDNA.isValidALabel(String(lower.dropFirst(4))) else { return false }
            } else if lower.count >= 4, lower.dropFirst(2).hasPrefix("--") {
                return false  // RFC 5891 §4.2.3.1: "--" in positions 3–4 is reserved
            }
        }
        return true
    }

    /// An RFC 5321 mailbox: dot-atom or quoted local part, host name or address literal.
    static func isEmail(_ text: String) -> Bool {
        guard let at = text.lastIndex(of: "@") else { return false }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        guard !local.isEmpty, !domain.isEmpty, local.utf8.count <= 64 else { return false }
        if local.first == "\"" {
            guard local.count >= 2, local.last == "\"" else { return false }
            var escaped = false
            for c in local.dropFirst().dropLast() {
                if escaped { escaped = false; continue }
                if c == "\\" { escaped = true; continue }
                guard c != "\"", c.isASCII, c.asciiValue! >= 32 else { return false }
            }
            if escaped { return false }
        } else {
            let atext = Set("!#$%&'*+-/=?^_`{|}~")
            for atom in local.split(separator: ".", omittingEmptySubsequences: false) {
                guard !atom.isEmpty, atom.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || atext.contains($0)) }) else {
                    return false
                }
            }
        }
        if domain.first == "[" {
            guard domain.last == "]" else { return false }
            let literal = domain.dropFirst().dropLast()
            if literal.lowercased().hasPrefix("ipv6:") { return isIPv6(String(literal.dropFirst(5))) }
            return isIPv4(literal)
        }
        return isHostname(String(domain))
    }
}

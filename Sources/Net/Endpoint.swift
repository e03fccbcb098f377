/// A network endpoint given as text by an operator: `HOST:PORT`, `[IPv6]:PORT`.
///
/// The host is kept as written (a name is resolved at connect time, so DNS
/// changes are honoured on reconnect); ``description`` prints it back in the
/// same form.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP literal (IPv6 without brackets).
    public var host: String
    /// TCP port, 1–65535 (0 only for a listener that wants an ephemeral port).
    public var port: Int

    /// Creates an endpoint from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT`; when `defaultPort` is given, the
    /// port may be omitted.
    public init(parsing text: String, defaultPort: Int? = nil) throws(EndpointError) {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw .empty }
        var host: Substring
        var portText: Substring?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw .malformed(text) }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw .malformed(text) }
                portText = rest.dropFirst()
            }
        } else if let colon = trimmed.lastIndex(of: ":") {
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            guard !host.contains(":") else { throw .malformed(text) }  // bare IPv6 needs brackets
        } else {
            host = trimmed[...]
        }
        guard !host.isEmpty else { throw .malformed(text) }
        let port: Int
        if let portText {
            guard let p = Int(portText), (0...65535).contains(p) else { throw .badPort(text) }
            port = p
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw .missingPort(text)
        }
        self.init(host: String(host), port: port)
    }

    /// Parses a comma-separated list of endpoints, keeping the order.
    public static func parseList(_ text: String, defaultPort: Int? = nil) throws(EndpointError) -> [Endpoint] {
        var result: [Endpoint] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            result.append(try Endpoint(parsing: String(part), defaultPort: defaultPort))
        }
        guard !result.isEmpty else { throw .empty }
        return result
    }

    /// True when ``host`` is an IPv4 or IPv6 literal rather than a name.
    public var hostIsIPLiteral: Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." } && host.contains(".")
    }

    /// `host:port`, with brackets around an IPv6 literal.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Why an endpoint string was rejected.
public enum EndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case malformed(String)
    case missingPort(String)
    case badPort(String)

    public var description: String {
        switch self {
        case .empty: "no endpoint given: expected HOST:PORT"
        case .malformed(let t): "malformed endpoint '\(t)': expected HOST:PORT or [IPv6]:PORT"
        case .missingPort(let t): "endpoint '\(t)' has no port: expected HOST:PORT"
        case .badPort(let t): "endpoint '\(t)' has an invalid port: expected 0-65535"
        }
    }
}

extension String {
    func trimmingSpaces() -> Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

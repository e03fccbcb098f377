/// One HTTP route (EDGE.md), as stored in `module/<edge>/routes/<instance>`
/// and given to `set-route`.
public struct Route: Sendable, Equatable {
    public var instance: String
    public var backend: BackendURL
    /// Lower-cased; nil: any host.
    public var host: String?
    /// Starts with `/`, without a trailing `/` (except `/` itself); nil: any path.
    public var path: String?
    /// Explicit, or 3 (host and path), 2 (host), 1 (path).
    public var priority: Int
    public var stripPrefix = false
    public var http2https = false
    public var letsEncrypt = false
    public var skipCertVerify = false
    public var ipAllowlist: [IPRange] = []

    /// A route from its fields (strings, as in Redis).
    /// - Throws: ``RouteError`` naming the field that is wrong.
    public init(fields: [String: String]) throws(RouteError) {
        guard let instance = fields["instance"], !instance.isEmpty,
              instance.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
            throw .invalid("instance", "must match ^[a-zA-Z0-9_.-]+$")
        }
        self.instance = instance
        guard let url = fields["url"] else { throw .invalid("url", "required") }
        backend = try BackendURL(parsing: url)
        if let h = fields["host"], !h.isEmpty {
            let lower = h.lowercased()
            guard lower.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.*".contains($0)) }), !lower.hasPrefix("."),
                  !lower.hasSuffix(".") else { throw .invalid("host", "'\(h)' is not a host name") }
            host = lower
        }
        if let p = fields["path"], !p.isEmpty {
            guard p.hasPrefix("/"), !p.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" || $0 == "?" || $0 == "#" }) else {
                throw .invalid("path", "must start with / and contain no spaces, ? or #")
            }
            var trimmed = Substring(p)
            while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            path = String(trimmed)
        }
        guard host != nil || path != nil else { throw .invalid("host", "a route needs a host, a path or both") }
        if let text = fields["priority"], !text.isEmpty {
            guard let n = Int(text), (0...1000).contains(n) else { throw .invalid("priority", "must be a number 0-1000") }
            priority = n
        } else {
            priority = host != nil && path != nil ? 3 : host != nil ? 2 : 1
        }
        func flag(_ name: String) throws(RouteError) -> Bool {
            switch fields[name]?.lowercased() {
            case nil, "", "false", "0", "off": return false
            case "true", "1", "on": return true
            default: throw .invalid(name, "must be true or false")
            }
        }
        stripPrefix = try flag("strip_prefix")
        http2https = try flag("http2https")
        letsEncrypt = try flag("lets_encrypt")
        skipCertVerify = try flag("skip_cert_verify")
        if let list = fields["ip_allowlist"], !list.isEmpty {
            for item in list.split(separator: " ") {
                guard let range = IPRange(String(item)) else { throw .invalid("ip_allowlist", "'\(item)' is not an IP address or CIDR") }
                ipAllowlist.append(range)
            }
        }
    }

    /// Whether the route serves `host` (lower-cased, no port) and `path`.
    public func matches(host requestHost: String, path requestPath: String) -> Bool {
        if let host, host != requestHost { return false }
        guard let path, path != "/" else { return true }
        return requestPath == path || requestPath.hasPrefix(path) && requestPath.utf8.dropFirst(path.utf8.count).first == UInt8(ascii: "/")
    }

    /// The path sent to the backend (the route's prefix removed with `strip_prefix`).
    public func backendPath(for requestPath: String) -> String {
        guard stripPrefix, let path, path != "/", requestPath.hasPrefix(path) else { return requestPath }
        let rest = requestPath.dropFirst(path.count)
        return rest.isEmpty || rest.hasPrefix("?") ? "/" + rest : String(rest)
    }
}

/// A backend: `http://` or `https://`, host, port.
public struct BackendURL: Sendable, Equatable {
    public var tls: Bool
    public var host: String
    public var port: Int

    public init(parsing text: String) throws(RouteError) {
        let lower = text.lowercased()
        if lower.hasPrefix("http://") { tls = false } else if lower.hasPrefix("https://") { tls = true } else {
            throw .invalid("url", "must start with http:// or https://")
        }
        var rest = text.dropFirst(tls ? 8 : 7)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var hostPart = rest, portPart: Substring?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() }
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw .invalid("url", "no host in '\(text)'") }
        host = String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { throw .invalid("url", "bad port in '\(text)'") }
            port = p
        } else {
            port = tls ? 443 : 80
        }
    }
}

/// A field of a route that cannot be used.
public enum RouteError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String, String)
    public var field: String { if case .invalid(let f, _) = self { f } else { "" } }
    public var description: String { if case .invalid(let f, let why) = self { "\(f): \(why)" } else { "" } }
}

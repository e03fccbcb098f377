/// The routes in matching order: higher priority first, then longer path, then instance name.
public struct RouteTable: Sendable {
    /// The routes in matching order, each with its metrics and pool key.
    let entries: [RouteEntry]
    /// The routes in matching order (made on each call: for reloads and tests, not per request).
    public var routes: [Route] { entries.map(\.route) }

    public init(_ routes: [Route]) {
        let sorted = routes.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            let la = a.path?.count ?? 0, lb = b.path?.count ?? 0
            if la != lb { return la > lb }
            return a.instance < b.instance
        }
        // Routes of one instance share their metrics.
        var byInstance: [String: RouteMetrics] = [:]
        entries = sorted.map { route in
            let metrics = byInstance[route.instance] ?? RouteMetrics(route: route.instance)
            byInstance[route.instance] = metrics
            return RouteEntry(route: route, metrics: metrics)
        }
    }

    /// The route for a request (`host` as sent, with or without `:port`); nil: 404.
    /// (On the UTF-8 bytes: no grapheme breaking, no copy when the host is already lower case.)
    public func match(host: String, path: String) -> Route? {
        matchEntry(host: host, path: path)?.route
    }

    /// The entry of the route for a request; nil: 404.
    func matchEntry(host: String, path: String) -> RouteEntry? {
        let bare = Self.hostWithoutPort(host)
        let lower = bare.utf8.contains { $0 >= 0x41 && $0 <= 0x5A } ? bare.lowercased() : String(bare)
        let query = path.utf8.firstIndex(of: UInt8(ascii: "?"))
        let pathOnly = query.map { String(path[..<$0]) } ?? path
        return entries.first { $0.route.matches(host: lower, path: pathOnly) }
    }

    static func hostWithoutPort(_ host: String) -> Substring {
        let bytes = host.utf8
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) { return host[bytes.index(after: bytes.startIndex)..<close] }
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")), bytes.firstIndex(of: UInt8(ascii: ":")) == colon { return host[..<colon] }
        return host[...]
    }
}

/// A route with what a request needs from it besides its fields, made once per table: a request
/// holds one reference, not a copy of the route's strings and lists.
final class RouteEntry: Sendable {
    let route: Route
    let metrics: RouteMetrics
    /// The route's backend as the per-loop pools know it.
    let backendKey: BackendPool.Key

    init(route: Route, metrics: RouteMetrics) {
        self.route = route
        self.metrics = metrics
        backendKey = BackendPool.Key(host: route.backend.host, port: route.backend.port, tls: route.backend.tls,
                                     skipVerify: route.skipCertVerify)
    }
}

/// The routes in matching order: higher priority first, then longer path, then instance name.
public struct RouteTable: Sendable {
    public let routes: [Route]
    /// Made with the table, one per route in `routes`' order (routes of one instance share theirs),
    /// so a request finds its route's by index.
    let metrics: [RouteMetrics]

    public init(_ routes: [Route]) {
        self.routes = routes.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            let la = a.path?.count ?? 0, lb = b.path?.count ?? 0
            if la != lb { return la > lb }
            return a.instance < b.instance
        }
        var byInstance: [String: RouteMetrics] = [:]
        metrics = self.routes.map { route in
            if let shared = byInstance[route.instance] { return shared }
            let made = RouteMetrics(route: route.instance)
            byInstance[route.instance] = made
            return made
        }
    }

    /// The route for a request (`host` as sent, with or without `:port`); nil: 404.
    /// (On the UTF-8 bytes: no grapheme breaking, no copy when the host is already lower case.)
    public func match(host: String, path: String) -> Route? {
        matchIndex(host: host, path: path).map { routes[$0] }
    }

    /// The index in `routes` (and `metrics`) of the route for a request; nil: 404.
    func matchIndex(host: String, path: String) -> Int? {
        let bare = Self.hostWithoutPort(host)
        let lower = bare.utf8.contains { $0 >= 0x41 && $0 <= 0x5A } ? bare.lowercased() : String(bare)
        let query = path.utf8.firstIndex(of: UInt8(ascii: "?"))
        let pathOnly = query.map { String(path[..<$0]) } ?? path
        return routes.firstIndex { $0.matches(host: lower, path: pathOnly) }
    }

    static func hostWithoutPort(_ host: String) -> Substring {
        let bytes = host.utf8
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) { return host[bytes.index(after: bytes.startIndex)..<close] }
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")), bytes.firstIndex(of: UInt8(ascii: ":")) == colon { return host[..<colon] }
        return host[...]
    }
}

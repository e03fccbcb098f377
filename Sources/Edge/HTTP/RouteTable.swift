/// The routes in matching order: higher priority first, then longer path, then instance name.
public struct RouteTable: Sendable {
    public let routes: [Route]
    /// Made with the table, so a request only looks its route's up.
    let metrics: [String: RouteMetrics]

    public init(_ routes: [Route]) {
        metrics = Dictionary(routes.map { ($0.instance, RouteMetrics(route: $0.instance)) }, uniquingKeysWith: { a, _ in a })
        self.routes = routes.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            let la = a.path?.count ?? 0, lb = b.path?.count ?? 0
            if la != lb { return la > lb }
            return a.instance < b.instance
        }
    }

    /// The route for a request (`host` as sent, with or without `:port`); nil: 404.
    public func match(host: String, path: String) -> Route? {
        let bare = Self.hostWithoutPort(host).lowercased()
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        return routes.first { $0.matches(host: bare, path: pathOnly) }
    }

    static func hostWithoutPort(_ host: String) -> Substring {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return host[host.index(after: host.startIndex)..<close] }
        if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon { return host[..<colon] }
        return host[...]
    }
}

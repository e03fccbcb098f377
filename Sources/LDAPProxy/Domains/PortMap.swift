/// Which local port each domain listens on. A domain keeps its port as
/// long as it exists (across reloads, and across restarts through the
/// published map); a new one takes the lowest free port of the range.
public struct PortMap: Sendable, Equatable {
    public let range: ClosedRange<Int>
    public private(set) var ports: [String: Int]
    /// Ports found unusable (another process holds them); not handed out again by this map.
    private var avoided = Set<Int>()
    /// Ports of domains removed meanwhile: handed out again only when nothing else is left, so a
    /// client still configured for a removed domain does not land in another domain's directory.
    /// A domain that comes back gets its old port again.
    private var released: [String: Int] = [:]

    /// Starts from a known map (read back from Redis or a state file); ports outside the range are dropped.
    public init(range: ClosedRange<Int>, known: [String: Int] = [:]) {
        self.range = range
        var kept: [String: Int] = [:]
        var taken = Set<Int>()
        for (domain, port) in known.sorted(by: { $0.key < $1.key }) where range.contains(port) && !taken.contains(port) {
            kept[domain] = port
            taken.insert(port)
        }
        ports = kept
    }

    /// Makes the map hold exactly `domains` (those the range still has room
    /// for); returns the domains whose port changed (added or removed), sorted.
    /// - Throws: ``PortMapError`` after the update when some domains got no port.
    public mutating func update(to domains: Set<String>) throws(PortMapError) -> [String] {
        var changed: [String] = []
        for domain in ports.keys where !domains.contains(domain) {
            if let port = ports.removeValue(forKey: domain) { released[domain] = port }
            changed.append(domain)
        }
        var unplaced: [String] = []
        for domain in domains.sorted() where ports[domain] == nil {
            guard let free = freePort(for: domain) else {
                unplaced.append(domain)
                continue
            }
            ports[domain] = free
            changed.append(domain)
        }
        if !unplaced.isEmpty { throw .full(range: range, domains: unplaced, changed: changed.sorted()) }
        return changed.sorted()
    }

    /// Moves `domain` off a port that cannot be bound; nil when the range is full.
    public mutating func reassign(_ domain: String) -> Int? {
        if let bad = ports[domain] { avoided.insert(bad) }
        ports[domain] = nil
        guard let free = freePort(for: domain) else { return nil }
        ports[domain] = free
        return free
    }

    private mutating func freePort(for domain: String) -> Int? {
        let taken = Set(ports.values)
        func usable(_ port: Int) -> Bool { !taken.contains(port) && !avoided.contains(port) }
        if let old = released.removeValue(forKey: domain), usable(old) { return old }
        let releasedPorts = Set(released.values)
        if let fresh = range.first(where: { usable($0) && !releasedPorts.contains($0) }) { return fresh }
        guard let reused = range.first(where: usable) else { return nil }
        released = released.filter { $0.value != reused }
        return reused
    }
}

/// No port left for some domains.
public enum PortMapError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `domains` got no port; `changed` lists what the update did change.
    case full(range: ClosedRange<Int>, domains: [String], changed: [String])

    public var description: String {
        switch self {
        case .full(let range, let domains, _):
            "no free port in --port-range \(range.lowerBound)-\(range.upperBound) for domain(s) \(domains.joined(separator: ", ")) (widen the range)"
        }
    }
}

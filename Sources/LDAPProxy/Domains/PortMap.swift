/// Which local port each domain listens on. A domain keeps its port as
/// long as it exists (across reloads, and across restarts through the
/// published map); a new one takes the lowest free port of the range.
public struct PortMap: Sendable, Equatable {
    public let range: ClosedRange<Int>
    public private(set) var ports: [String: Int]

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

    /// Makes the map hold exactly `domains`; returns the domains whose port changed (added or removed), sorted.
    /// - Throws: ``PortMapError`` when the range has no free port left.
    public mutating func update(to domains: Set<String>) throws(PortMapError) -> [String] {
        var changed: [String] = []
        for domain in ports.keys where !domains.contains(domain) {
            ports[domain] = nil
            changed.append(domain)
        }
        var taken = Set(ports.values)
        for domain in domains.sorted() where ports[domain] == nil {
            guard let free = range.first(where: { !taken.contains($0) }) else {
                throw .full(range: range, domain: domain)
            }
            ports[domain] = free
            taken.insert(free)
            changed.append(domain)
        }
        return changed.sorted()
    }
}

/// No port left for a domain.
public enum PortMapError: Error, Sendable, Equatable, CustomStringConvertible {
    case full(range: ClosedRange<Int>, domain: String)

    public var description: String {
        switch self {
        case .full(let range, let domain): "no free port in --port-range \(range.lowerBound)-\(range.upperBound) for domain \(domain)"
        }
    }
}

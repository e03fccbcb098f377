import Metrics
import Net
import NIOCore

/// Metrics of one relayed connection, for its domain and provider (made
/// once per connection, so no lookups per message): operations by type,
/// result codes other than success, response latency, protocol errors.
final class LDAPMetrics: @unchecked Sendable {  // used on its connection's loop only (counters are thread-safe)
    private let domain: String
    private let provider: String
    private let latency: Timer
    private let errors: Counter
    /// By the operation's raw value (its APPLICATION tag number, 0–31): an index, not a hash, per message.
    private var operations = [Counter?](repeating: nil, count: 32)

    init(domain: String, provider: String) {
        self.domain = domain
        self.provider = provider
        latency = Timer(label: "nscore_ldap_response_seconds", dimensions: [("domain", domain), ("provider", provider)])
        errors = Counter(label: "nscore_ldap_protocol_errors_total", dimensions: [("domain", domain)])
        Counter(label: "nscore_ldap_connections_total", dimensions: [("domain", domain), ("provider", provider)]).increment()
    }

    func request(_ op: LDAPOperation) {
        let index = Int(op.rawValue & 0x1F)
        if let c = operations[index] { return c.increment() }
        let c = Counter(label: "nscore_ldap_operations_total", dimensions: [("domain", domain), ("operation", op.description)])
        operations[index] = c
        c.increment()
    }

    func responded(after duration: TimeAmount) {
        latency.recordNanoseconds(duration.nanoseconds)
    }

    func result(_ code: Int) {
        Counter(label: "nscore_ldap_results_total", dimensions: [("domain", domain), ("provider", provider), ("code", String(code))]).increment()
    }

    func protocolError() { errors.increment() }
}

/// Bytes relayed and clients refused for one domain (one per domain listener).
final class LDAPDomainCounters: RelayObserver {
    private let toProvider: Counter
    private let toClient: Counter
    private let unavailable: Counter

    init(domain: String) {
        toProvider = Counter(label: "nscore_ldap_bytes_total", dimensions: [("domain", domain), ("direction", "to_provider")])
        toClient = Counter(label: "nscore_ldap_bytes_total", dimensions: [("domain", domain), ("direction", "to_client")])
        unavailable = Counter(label: "nscore_ldap_unavailable_total", dimensions: [("domain", domain)])
    }

    func relayed(bytes: Int, direction: RelayDirection) {
        (direction == .clientToUpstream ? toProvider : toClient).increment(by: bytes)
    }

    func relayFailed(error: any Error, direction: RelayDirection) {}

    /// A client closed with `unavailable` (no provider up).
    func refused() { unavailable.increment() }
}

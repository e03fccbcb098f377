import Metrics
import Net

/// Metrics of one domain and provider (made once per connection: no
/// lookups per message): connections, operations by type, result codes
/// other than success, bytes, response latency.
final class LDAPMetrics: RelayObserver, @unchecked Sendable {  // counters are thread-safe; the op cache is per connection loop
    private let domain: String
    private let provider: String
    private let toProvider: Counter
    private let toClient: Counter
    private let latency: Timer
    private let errors: Counter
    private var operations: [LDAPOperation: Counter] = [:]

    init(domain: String, provider: String) {
        self.domain = domain
        self.provider = provider
        toProvider = Counter(label: "nscore_ldap_bytes_total", dimensions: [("domain", domain), ("direction", "to_provider")])
        toClient = Counter(label: "nscore_ldap_bytes_total", dimensions: [("domain", domain), ("direction", "to_client")])
        latency = Timer(label: "nscore_ldap_response_seconds", dimensions: [("domain", domain), ("provider", provider)])
        errors = Counter(label: "nscore_ldap_protocol_errors_total", dimensions: [("domain", domain)])
        Counter(label: "nscore_ldap_connections_total", dimensions: [("domain", domain), ("provider", provider)]).increment()
    }

    func request(_ op: LDAPOperation) {
        if let c = operations[op] { c.increment(); return }
        let c = Counter(label: "nscore_ldap_operations_total", dimensions: [("domain", domain), ("operation", op.description)])
        operations[op] = c
        c.increment()
    }

    func responded(after duration: TimeAmountLike) {
        latency.recordNanoseconds(duration.nanoseconds)
    }

    func result(_ code: Int) {
        Counter(label: "nscore_ldap_results_total", dimensions: [("domain", domain), ("provider", provider), ("code", String(code))]).increment()
    }

    func protocolError() { errors.increment() }

    func relayed(bytes: Int, direction: RelayDirection) {
        (direction == .clientToUpstream ? toProvider : toClient).increment(by: bytes)
    }

    func relayFailed(error: any Error, direction: RelayDirection) {}
}

/// NIO's TimeAmount, by what the metrics need of it.
typealias TimeAmountLike = NIOCore.TimeAmount

import NIOCore

import Metrics
import Synchronization

/// Counters of the proxy, shared by every loop (atomics), also exported as metrics.
final class ProxyStats: Sendable {
    private let routedReplica = Atomic<Int>(0)
    private let routedLeader = Atomic<Int>(0)
    private let answeredLocally = Atomic<Int>(0)
    private let authFailures = Atomic<Int>(0)
    private let protocolErrors = Atomic<Int>(0)
    private let replicaLinks = Atomic<Int>(0)
    private let leaderLinks = Atomic<Int>(0)
    private let sessions = Mutex<[UInt64: (user: String, peer: String, name: String?)]>([:])
    private let counterReplica = Counter(label: "nscore_respproxy_routed_total", dimensions: [("route", "replica")])
    private let counterLeader = Counter(label: "nscore_respproxy_routed_total", dimensions: [("route", "leader")])
    private let counterLocal = Counter(label: "nscore_respproxy_routed_total", dimensions: [("route", "local")])
    private let counterAuthFailures = Counter(label: "nscore_respproxy_auth_failures_total")
    private let counterProtocolErrors = Counter(label: "nscore_respproxy_protocol_errors_total")

    func routed(_ role: PoolKey.Role) {
        switch role {
        case .replica: routedReplica.add(1, ordering: .relaxed); counterReplica.increment()
        case .leader: routedLeader.add(1, ordering: .relaxed); counterLeader.increment()
        }
    }

    func local() { answeredLocally.add(1, ordering: .relaxed); counterLocal.increment() }
    func authFailed() { authFailures.add(1, ordering: .relaxed); counterAuthFailures.increment() }
    func protocolError() { protocolErrors.add(1, ordering: .relaxed); counterProtocolErrors.increment() }

    func linkOpened(_ role: PoolKey.Role) {
        if role == .replica { replicaLinks.add(1, ordering: .relaxed) } else { leaderLinks.add(1, ordering: .relaxed) }
    }

    func linkClosed(_ role: PoolKey.Role) {
        if role == .replica { replicaLinks.subtract(1, ordering: .relaxed) } else { leaderLinks.subtract(1, ordering: .relaxed) }
    }

    private let sessionIDs = Atomic<UInt64>(0)

    /// A new session id (also the `CLIENT ID` and HELLO `id` the session reports).
    func nextSessionID() -> UInt64 { sessionIDs.wrappingAdd(1, ordering: .relaxed).newValue }

    func session(_ id: UInt64, user: String?, peer: String, name: String?) {
        sessions.withLock { $0[id] = (user ?? "default", peer, name) }
    }

    func sessionEnded(_ id: UInt64) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// The counters as one JSON object (without per-loop link details).
    func json(links: [(key: String, use: String, inFlight: Int)], leased: Int, leader: String, replica: String) -> String {
        let all = sessions.withLock { $0 }
        var byUser: [String: Int] = [:]
        for (_, s) in all { byUser[s.user, default: 0] += 1 }
        func quote(_ s: String) -> String {
            "\"" + s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        }
        let users = byUser.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\($0.value)" }.joined(separator: ",")
        let clients = all.sorted { $0.key < $1.key }.map { id, s in
            "{\"id\":\(id),\"user\":\(quote(s.user)),\"peer\":\(quote(s.peer)),\"name\":\(s.name.map(quote) ?? "null")}"
        }.joined(separator: ",")
        let pools = links.sorted { $0.key < $1.key }.map { "{\"upstream\":\(quote($0.key)),\"use\":\(quote($0.use)),\"in_flight\":\($0.inFlight)}" }
            .joined(separator: ",")
        return """
            {"leader":\(quote(leader)),"replica":\(quote(replica)),"clients":\(all.count),"users":{\(users)},\
            "routed":{"replica":\(routedReplica.load(ordering: .relaxed)),"leader":\(routedLeader.load(ordering: .relaxed)),\
            "local":\(answeredLocally.load(ordering: .relaxed))},"auth_failures":\(authFailures.load(ordering: .relaxed)),\
            "protocol_errors":\(protocolErrors.load(ordering: .relaxed)),\
            "upstream_links":{"replica":\(replicaLinks.load(ordering: .relaxed)),"leader":\(leaderLinks.load(ordering: .relaxed)),"dedicated":\(leased)},\
            "pools":[\(pools)],"sessions":[\(clients)]}
            """
    }
}

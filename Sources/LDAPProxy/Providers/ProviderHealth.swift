import Logging
import Synchronization

/// What the proxy knows of each provider's health, shared across domains
/// and reloads (a provider keeps its state when the configuration is
/// reloaded). Unknown counts as up until a check says otherwise. Every
/// change of state is logged here, once.
final class ProviderHealth: Sendable {
    struct State: Sendable {
        var up: Bool?
        var lastError: String?
        var checks = 0
    }

    private let states = Mutex<[LDAPProvider: State]>([:])
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func isUsable(_ provider: LDAPProvider) -> Bool {
        states.withLock { $0[provider]?.up ?? true }
    }

    func state(_ provider: LDAPProvider) -> State {
        states.withLock { $0[provider] ?? State() }
    }

    /// Records a check or a connect result (`via` says which, for the log line).
    func record(_ provider: LDAPProvider, up: Bool, error: String? = nil, via: String) {
        let previous = states.withLock { s -> Bool? in
            var state = s[provider] ?? State()
            let before = state.up
            state.up = up
            state.lastError = up ? nil : error
            state.checks += 1
            s[provider] = state
            return before
        }
        guard previous != up else { return }
        if up {
            if previous == false { logger.notice("provider \(provider) is up again (\(via))") }
        } else {
            logger.warning("provider \(provider) is down (\(via)): \(error ?? "?"); new clients go to the next provider until a check succeeds")
        }
    }

    /// Forgets providers no domain has any more.
    func keep(only providers: Set<LDAPProvider>) {
        states.withLock { s in s = s.filter { providers.contains($0.key) } }
    }
}

/// The providers of one domain and the order a new connection tries them in:
/// healthy providers of this node first (round-robin among them), then the
/// other healthy ones in list order.
final class ProviderChoice: Sendable {
    let domain: LDAPDomain
    let nodeID: Int?
    private let health: ProviderHealth
    private let next = Atomic<Int>(0)

    init(domain: LDAPDomain, nodeID: Int?, health: ProviderHealth) {
        self.domain = domain
        self.nodeID = nodeID
        self.health = health
    }

    /// Providers to try for one connection, in order (empty: none is up).
    func order() -> [LDAPProvider] {
        let usable = domain.providers.filter(health.isUsable)
        let local = usable.filter { nodeID != nil && $0.node == nodeID }
        let remote = usable.filter { !(nodeID != nil && $0.node == nodeID) }
        guard !local.isEmpty else { return remote }
        let start = next.wrappingAdd(1, ordering: .relaxed).oldValue % local.count
        return Array(local[start...] + local[..<start]) + remote
    }
}

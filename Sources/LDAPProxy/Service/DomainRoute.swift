import Logging
import Net
import NIOCore
import Synchronization

/// What one listener serves now, swapped in place on reload (a listener is
/// never rebound for a provider change, so established clients stay).
final class DomainRoute: Sendable {
    /// The domain's providers in their order, and its counters.
    struct Active: Sendable {
        let choice: ProviderChoice
        let counters: LDAPDomainCounters
    }

    private let current = Mutex<Active?>(nil)

    var active: Active? { current.withLock { $0 } }

    /// Points new connections at `domain` (nil: refuse them with `unavailable`).
    func serve(_ domain: LDAPDomain?, nodeID: Int?, health: ProviderHealth) {
        let next = domain.map { Active(choice: ProviderChoice(domain: $0, nodeID: nodeID, health: health), counters: LDAPDomainCounters(domain: $0.name)) }
        current.withLock { $0 = next }
    }

    /// Serves what `other` serves (the default port follows the default domain).
    func serve(sameAs other: DomainRoute?) {
        let next = other?.active
        current.withLock { $0 = next }
    }
}

/// Sets up one accepted client: connect a provider of the route's domain,
/// then relay with an LDAPMessage framer on each side; with no provider,
/// an `unavailable` notice of disconnection.
struct LDAPConnectionSetup: Sendable {
    let dialer: ProviderDialer
    let framing: LDAPFramerSettings
    let logger: Logger

    func install(on channel: any Channel, route: DomainRoute) -> EventLoopFuture<Void> {
        let active = route.active
        let dialer = self.dialer
        let framing = self.framing
        let domainName = active?.choice.domain.name ?? "-"
        var logger = self.logger
        logger[metadataKey: "domain"] = "\(domainName)"
        return channel.eventLoop.makeCompletedFuture {
            let setup = UpstreamRelaySetup(
                connect: { loop in dialer.connect(active?.choice, on: loop) },
                observer: active?.counters, maxEarlyBytes: min(framing.limit, 1 << 20), logger: logger,
                handlers: { endpoint in
                    let provider = "\(endpoint)"
                    let stats = LDAPConnectionStats(domain: domainName, provider: provider,
                                                    metrics: LDAPMetrics(domain: domainName, provider: provider))
                    return ([LDAPFramer(side: .client, stats: stats, settings: framing)],
                            [LDAPFramer(side: .provider, stats: stats, settings: framing)])
                },
                failed: { error in
                    active?.counters.refused()
                    return LDAPMessages.noticeOfDisconnection(.unavailable, "\(error)")
                })
            try channel.pipeline.syncOperations.addHandler(setup)
        }
    }
}

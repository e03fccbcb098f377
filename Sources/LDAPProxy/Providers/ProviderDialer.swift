import Net
import NIOCore

/// Opens the provider connection for one client: the providers in the
/// domain's order, each failure marking that provider down at once
/// (passive check) before the next is tried. When every provider is
/// already marked down they are all tried once more (a provider may have
/// come back since the last check) before the client is refused.
struct ProviderDialer: Sendable {
    let connector: ProviderConnector
    let health: ProviderHealth

    func connect(_ choice: ProviderChoice?, on loop: any EventLoop) -> EventLoopFuture<(channel: any Channel, endpoint: Endpoint)> {
        guard let choice else { return loop.makeFailedFuture(NoProviderAvailable(domain: nil, attempts: [])) }
        var order = choice.order()
        if order.isEmpty { order = choice.domain.providers }
        let promise = loop.makePromise(of: (channel: any Channel, endpoint: Endpoint).self)
        attempt(order[...], domain: choice.domain.name, attempts: [], on: loop, promise: promise)
        return promise.futureResult
    }

    private func attempt(_ rest: ArraySlice<LDAPProvider>, domain: String, attempts: [String], on loop: any EventLoop,
                         promise: EventLoopPromise<(channel: any Channel, endpoint: Endpoint)>) {
        guard let provider = rest.first else {
            promise.fail(NoProviderAvailable(domain: domain, attempts: attempts))
            return
        }
        connector.connect(provider, on: loop).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                health.record(provider, up: true, via: "client connection")
                promise.succeed((channel, provider.endpoint))
            case .failure(let error):
                health.record(provider, up: false, error: "\(error)", via: "client connection")
                attempt(rest.dropFirst(), domain: domain, attempts: attempts + ["\(provider): \(error)"], on: loop, promise: promise)
            }
        }
    }
}

/// No provider of the domain took the connection (the client gets `unavailable`).
struct NoProviderAvailable: Error, CustomStringConvertible {
    let domain: String?
    let attempts: [String]

    var description: String {
        guard let domain else { return "no user domain is configured for this port" }
        return "no provider of domain \(domain) is reachable" + (attempts.isEmpty ? "" : ": " + attempts.joined(separator: "; "))
    }
}

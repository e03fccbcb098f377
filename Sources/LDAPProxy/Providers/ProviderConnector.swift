import Logging
import Net
import NIOCore
import Synchronization

/// Opens connections to providers: clear text, LDAPS, or Start TLS then
/// TLS, with the provider's verification setting, the connect timeout
/// covering TCP, Start TLS and the handshake. One Net connector (and TLS
/// context) per provider, made on first use.
final class ProviderConnector: Sendable {
    private let connectTimeout: TimeAmount
    private let caFile: String?
    private let logger: Logger
    private let connectors = Mutex<[LDAPProvider: UpstreamConnector]>([:])

    init(connectTimeout: TimeAmount, caFile: String?, logger: Logger) {
        self.connectTimeout = connectTimeout
        self.caFile = caFile
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)  // the proxy logs failures itself, per client
        self.logger = quiet
    }

    /// One connection to `provider` on `eventLoop` (reads off, half-closure allowed).
    func connect(_ provider: LDAPProvider, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        do {
            return try connector(for: provider).connect(on: eventLoop).map(\.channel)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    private func connector(for provider: LDAPProvider) throws -> UpstreamConnector {
        if let made = connectors.withLock({ $0[provider] }) { return made }
        let tls = provider.tls == .off ? nil : TLSClientConfiguration(verify: provider.tlsVerify, caFile: caFile)
        let upgrade: (@Sendable (any Channel) -> EventLoopFuture<Void>)? = provider.tls == .starttls ? Self.startTLS : nil
        let made = try UpstreamConnector(UpstreamConfiguration(endpoints: [provider.endpoint], connectTimeout: connectTimeout,
                                                               tls: tls, tlsUpgrade: upgrade), logger: logger)
        connectors.withLock { $0[provider] = made }
        return made
    }

    /// The Start TLS exchange on a clear-text connection.
    @Sendable static func startTLS(_ channel: any Channel) -> EventLoopFuture<Void> {
        let done = channel.eventLoop.makePromise(of: Void.self)
        do {
            try channel.pipeline.syncOperations.addHandler(StartTLSNegotiator(done: done))
        } catch {
            done.fail(error)
        }
        return done.futureResult
    }

    /// Drops connectors of providers that are gone.
    func keep(only providers: Set<LDAPProvider>) {
        connectors.withLock { c in c = c.filter { providers.contains($0.key) } }
    }
}

/// Sends the Start TLS extended request on a fresh clear-text connection and
/// waits for its success; then steps aside for the TLS handler.
final class StartTLSNegotiator: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<Void>
    private var buffer = ByteBuffer()
    private var finished = false

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(LDAPMessages.startTLS(id: 1)), promise: nil)
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        do {
            guard let frame = try LDAPMessageFrame.parse(from: &buffer, limit: 1 << 16) else {
                context.read()
                return
            }
            guard frame.operation == .extendedResponse, frame.resultCode == 0 else {
                finish(context, .failure(StartTLSRefused(code: frame.resultCode)))
                return
            }
            finish(context, .success(()))
        } catch {
            finish(context, .failure(error))
        }
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        done.completeWith(result)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(error))
    }
}

/// The provider answered Start TLS with an error (or not at all sensibly).
struct StartTLSRefused: Error, CustomStringConvertible {
    let code: Int?
    var description: String { "the provider refused Start TLS (result code \(code.map(String.init) ?? "none"))" }
}

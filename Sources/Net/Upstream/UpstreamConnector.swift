public import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
public import Logging

/// Where and how to reach an upstream service.
public struct UpstreamConfiguration: Sendable {
    /// Endpoints tried in order on every connect; the first that answers wins.
    public var endpoints: [Endpoint]
    /// Budget for each endpoint: TCP connect plus the TLS handshake.
    public var connectTimeout: TimeAmount
    /// TLS to the upstream, or nil for clear text.
    public var tls: TLSClientConfiguration?
    /// For STARTTLS-style protocols: runs on the clear-text connection first
    /// (e.g. LDAP's Start TLS exchange); TLS starts when it succeeds. Its
    /// time counts in the connect budget. Nil: TLS from the first byte.
    public var tlsUpgrade: (@Sendable (any Channel) -> EventLoopFuture<Void>)?

    /// Creates an upstream configuration.
    public init(endpoints: [Endpoint], connectTimeout: TimeAmount = .seconds(5), tls: TLSClientConfiguration? = nil,
                tlsUpgrade: (@Sendable (any Channel) -> EventLoopFuture<Void>)? = nil) {
        self.endpoints = endpoints
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.tlsUpgrade = tlsUpgrade
    }
}

/// Opens connections to an upstream with failover over an ordered endpoint
/// list, a connect timeout per endpoint and optional TLS.
///
/// A connection counts as made only once the TLS handshake (if any) has
/// completed, so a certificate failure on the first endpoint fails over to
/// the next like a refused connect does.
public final class UpstreamConnector: Sendable {
    /// The configuration this connector was made with.
    public let configuration: UpstreamConfiguration
    private let sslContext: NIOSSLContext?
    private let logger: Logger

    /// Creates a connector; builds the TLS context once.
    /// - Throws: ``UpstreamError`` when the endpoint list is empty or TLS settings are unusable.
    public init(_ configuration: UpstreamConfiguration, logger: Logger) throws(UpstreamError) {
        guard !configuration.endpoints.isEmpty else { throw .noEndpoints }
        self.configuration = configuration
        self.sslContext = try configuration.tls?.makeContext()
        self.logger = logger
    }

    /// Connects on `eventLoop` (use the client channel's loop so a relay needs no hops).
    ///
    /// `initializer` adds the caller's handlers after TLS, once per attempt.
    /// - Returns: the connected channel (`autoRead` off, half-closure allowed) and the endpoint that answered.
    public func connect(
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void> = { $0.eventLoop.makeSucceededVoidFuture() }
    ) -> EventLoopFuture<(channel: any Channel, endpoint: Endpoint)> {
        let promise = eventLoop.makePromise(of: (channel: any Channel, endpoint: Endpoint).self)
        attempt(index: 0, errors: [], eventLoop: eventLoop, initializer: initializer, promise: promise)
        return promise.futureResult
    }

    private func attempt(
        index: Int,
        errors: [UpstreamError],
        eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>,
        promise: EventLoopPromise<(channel: any Channel, endpoint: Endpoint)>
    ) {
        let endpoints = configuration.endpoints
        guard index < endpoints.count else {
            promise.fail(errors.count == 1 ? errors[0] : UpstreamError.allEndpointsFailed(errors))
            return
        }
        let endpoint = endpoints[index]
        connectOne(endpoint, eventLoop: eventLoop, initializer: initializer).whenComplete { result in
            switch result {
            case .success(let channel):
                promise.succeed((channel, endpoint))
            case .failure(let error):
                let upstreamError = error as? UpstreamError ?? .connectFailed(endpoint, reason: "\(error)")
                self.logger.warning("upstream endpoint failed", metadata: [
                    "endpoint": "\(endpoint)", "error": "\(upstreamError)",
                    "next": index + 1 < endpoints.count ? "\(endpoints[index + 1])" : "none",
                ])
                self.attempt(index: index + 1, errors: errors + [upstreamError], eventLoop: eventLoop,
                             initializer: initializer, promise: promise)
            }
        }
    }

    private func connectOne(
        _ endpoint: Endpoint,
        eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        let timeout = configuration.connectTimeout
        let sslContext = self.sslContext
        let serverName = configuration.tls?.serverName ?? (endpoint.hostIsIPLiteral ? nil : endpoint.host)
        let handshake = eventLoop.makePromise(of: Void.self)

        let upgrade = configuration.tlsUpgrade
        /// Adds TLS (and the caller's handlers behind it) to a connected or connecting channel.
        @Sendable func addTLS(_ channel: any Channel) -> EventLoopFuture<Void> {
            guard let sslContext else {
                handshake.succeed()
                return initializer(channel)
            }
            do {
                let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandlers([tls, TLSHandshakeWaiter(promise: handshake)], position: .first)
            } catch {
                handshake.fail(error)
                return channel.eventLoop.makeFailedFuture(error)
            }
            return initializer(channel)
        }

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
            .channelOption(.recvAllocator, value: ChannelDefaults.recvAllocator)
            .channelInitializer { channel in
                upgrade == nil ? addTLS(channel) : channel.eventLoop.makeSucceededVoidFuture()
            }

        let deadline = NIODeadline.now() + timeout
        return bootstrap.connect(host: endpoint.host, port: endpoint.port)
            .flatMapError { error in
                handshake.fail(error)
                if error is ChannelError, case .connectTimeout = error as! ChannelError {
                    return eventLoop.makeFailedFuture(UpstreamError.connectTimeout(endpoint, milliseconds: timeout.nanoseconds / 1_000_000))
                }
                return eventLoop.makeFailedFuture(UpstreamError.connectFailed(endpoint, reason: Self.describe(error)))
            }
            .flatMap { channel in
                // The handshake (and a STARTTLS exchange before it) shares the connect budget.
                let timer = eventLoop.scheduleTask(deadline: deadline) {
                    handshake.fail(UpstreamError.connectTimeout(endpoint, milliseconds: timeout.nanoseconds / 1_000_000))
                }
                if let upgrade {
                    upgrade(channel).flatMap { addTLS(channel) }.whenFailure { error in handshake.fail(error) }
                }
                return handshake.futureResult
                    .always { _ in timer.cancel() }
                    .map { channel }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        if let e = error as? UpstreamError { return eventLoop.makeFailedFuture(e) }
                        return eventLoop.makeFailedFuture(UpstreamError.tlsHandshakeFailed(endpoint, reason: Self.describe(error)))
                    }
            }
    }

    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return describe(first.error)
        }
        if let ssl = error as? NIOSSLError, case .handshakeFailed(let inner) = ssl { return "\(inner)" }
        return "\(error)"
    }
}

/// Completes a promise when the TLS handshake finishes or fails, then steps
/// aside. The upstream channel has `autoRead` off until the caller installs
/// its handlers, so this handler asks for the reads the handshake needs, and
/// holds any application data that arrives before it is removed.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let promise: EventLoopPromise<Void>
    private var done = false
    private var early: [NIOAny] = []

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        early.append(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, !done {
            done = true
            promise.succeed()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        guard !early.isEmpty else { return }
        for data in early { context.fireChannelRead(data) }
        early = []
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }
}

public import Logging
public import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What a proxy connection needs to know (shared by every connection of a listener).
public struct ProxySettings: Sendable {
    /// The routes; swapped whole on reload.
    public let routes: NIOLockedValueBox<RouteTable>
    /// True on the HTTPS listener (X-Forwarded-Proto, http2https).
    public var tls: Bool
    public var connectTimeout: TimeAmount = .seconds(5)
    /// No response head from the backend within this: 504.
    public var responseTimeout: TimeAmount = .seconds(60)
    /// A connection must send a complete request head within this of opening or of its last
    /// response, else it is closed (a client trickling bytes is not idle, so the idle timeout misses it).
    public var headTimeout: TimeAmount = .seconds(30)
    public var logger: Logger
    /// One line per request: client, host, method, path, status, bytes, duration, route.
    public var accessLogger: Logger
    /// HTTP-01 answers, served before any route (the plain HTTP listener only).
    public var challenges: ACMEChallenges?

    public init(routes: NIOLockedValueBox<RouteTable>, tls: Bool, logger: Logger) {
        self.routes = routes
        self.tls = tls
        self.logger = logger
        var access = logger
        access[metadataKey: "log"] = "access"
        accessLogger = access
    }
}

/// One client connection of the edge (after NIO's HTTP/1.1 server pipeline,
/// which serialises pipelined requests): routes each request, streams it to a
/// new backend connection and the response back, both ways with backpressure.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// The backend is being connected; request parts wait here.
        case connecting([HTTPClientRequestPart])
        case forwarding(any Channel)
        /// An edge-made response was sent; the rest of the request is discarded.
        case discarding
    }

    private let settings: ProxySettings
    private var context: ChannelHandlerContext?
    private var state = State.idle
    private var keepAlive = true
    private var requestVersion = HTTPVersion.http1_1
    private var responseStarted = false
    private var responseTimer: Scheduled<Void>?
    /// When the current request's backend must have started answering (nil: it has, or no request).
    private var responseDeadline: NIODeadline?
    /// When the armed timer fires.
    private var timerDeadline: NIODeadline?
    /// When the next request head must be complete (nil: a request is being served).
    private var headDeadline: NIODeadline?
    private var access = AccessRecord()
    /// The backend of the current request (for the pool) and whether it came from the pool.
    private var backendKey: BackendPool.Key?
    private var reused = false
    /// The request as sent, while it can still be sent again on a fresh connection
    /// (a pooled connection the backend closed before answering; requests without a body only).
    private var retryParts: [HTTPClientRequestPart]?
    private var requestEnded = false
    private var backendKeepAlive = false
    private var currentRoute: Route?
    /// The current backend connection's handler (reading toggles, the pool).
    private var backendHandler: BackendHandler?
    /// The client's IP address as text, worked out once per connection.
    private var clientAddress: String?
    /// Whether this client connection reads (false: paused while the backend cannot take more).
    private var clientReading = true
    /// The request asked to switch protocols (websocket): a fresh backend connection, a tunnel after a 101.
    private var upgradeRequested = false
    private var upgraded = false
    /// A request is being answered (its response not complete yet).
    private var responding = false
    /// The decoder refused what followed: a 400 and the close once earlier requests are answered.
    private var malformed = false
    /// Parts of requests pipelined behind the one being answered.
    private var pipelined: [HTTPServerRequestPart] = []

    init(settings: ProxySettings) { self.settings = settings }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        headDeadline = .now() + settings.headTimeout
        armTimer(at: headDeadline!, context)
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        // HTTP/1.1 pipelining: a request sent before the previous response ended waits, in order,
        // and reading stops until then (memory stays bounded). NIO's HTTPServerPipelineHandler would
        // do this too, but by dropping and re-adding read interest around every request.
        if responding && requestEnded || !pipelined.isEmpty {
            pipelined.append(part)
            setClientReading(false, context)
            return
        }
        handle(part, context)
    }

    private func handle(_ part: HTTPServerRequestPart, _ context: ChannelHandlerContext) {
        switch part {
        case .head(let head): start(head, context)
        case .body(let body): forward(.body(.byteBuffer(body)))
        case .end(let trailers): forward(.end(trailers))
        }
    }

    /// The response is complete: serve the requests that were pipelined behind it.
    private func responseDone(_ context: ChannelHandlerContext) {
        responding = false
        guard keepAlive else {
            pipelined = []
            return
        }
        while !pipelined.isEmpty, !(responding && requestEnded) {
            handle(pipelined.removeFirst(), context)
        }
        if pipelined.isEmpty, !responding, malformed { return refuseMalformed() }
        if pipelined.isEmpty, !clientReading, !isConnecting { setClientReading(true, context) }
    }

    private var isConnecting: Bool {
        if case .connecting = state { return true }
        return false
    }

    private func forward(_ part: HTTPClientRequestPart) {
        switch part {
        case .body: retryParts = nil
        case .end: requestEnded = true
        case .head: break
        }
        if retryParts != nil { retryParts!.append(part) }
        switch state {
        case .connecting(var parts):
            parts.append(part)
            state = .connecting(parts)
        case .forwarding(let backend):
            backend.write(part, promise: nil)
            if case .end = part { backend.flush() }
        case .idle, .discarding:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(let backend) = state { backend.flush() }
        context.fireChannelReadComplete()
    }

    private func start(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
        responding = true
        requestEnded = false
        // An HTTP/2 stream ends with its response; the connection stays (no Connection header there).
        keepAlive = head.isKeepAlive || head.version.major >= 2
        requestVersion = head.version
        responseStarted = false
        headDeadline = nil
        let host = head.headers.first(name: "host") ?? ""
        if clientAddress == nil { clientAddress = context.channel.remoteAddress?.ipAddress ?? "" }
        let client = clientAddress ?? ""
        access = AccessRecord(client: client.isEmpty ? "-" : client, host: host.isEmpty ? "-" : host,
                              method: head.method.rawValue, path: head.uri)
        guard !host.isEmpty else { return respond(.badRequest, "The request has no Host header.") }
        if !settings.tls, let answer = settings.challenges?.answer(path: head.uri) {
            access.route = "acme-challenge"
            return respond(.ok, body: ByteBuffer(string: answer), contentType: "text/plain")
        }
        let table = settings.routes.withLockedValue { $0 }
        guard let route = table.match(host: host, path: head.uri) else {
            return respond(.notFound, "No route for this host and path.")
        }
        access.route = route.instance
        access.metrics = table.metrics[route.instance] ?? .edgeMade
        if !route.ipAllowlist.isEmpty, !route.ipAllowlist.contains(where: { $0.contains(client) }) {
            return respond(.forbidden, "Your address may not use this route.")
        }
        if route.http2https, !settings.tls {
            let location = "https://\(RouteTable.hostWithoutPort(host))\(head.uri)"
            return respond(.permanentRedirect, "Moved to <a href=\"\(location)\">HTTPS</a>.", extra: [("location", location)])
        }
        var headers = head.headers
        upgradeRequested = UpgradeTunnel.isUpgrade(head)
        upgraded = false
        for name in ["connection", "keep-alive", "proxy-connection", "te", "trailer"] { headers.remove(name: name) }
        if upgradeRequested { headers.add(name: "connection", value: "upgrade") } else { headers.remove(name: "upgrade") }
        let forwardedFor = (head.headers.first(name: "x-forwarded-for").map { $0 + ", " } ?? "") + client
        headers.replaceOrAdd(name: "x-forwarded-for", value: forwardedFor)
        headers.replaceOrAdd(name: "x-forwarded-proto", value: settings.tls ? "https" : "http")
        headers.replaceOrAdd(name: "x-forwarded-host", value: host)
        let backendHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: route.backendPath(for: head.uri), headers: headers)
        state = .connecting([.head(backendHead)])
        requestEnded = false
        retryParts = [.head(backendHead)]
        currentRoute = route
        connect(route, context, fresh: upgradeRequested)
    }

    private func connect(_ route: Route, _ context: ChannelHandlerContext, fresh: Bool = false) {
        let loop = context.eventLoop
        let backend = route.backend
        let pool = BackendPool.of(loop)
        let key = BackendPool.Key(host: backend.host, port: backend.port, tls: backend.tls, skipVerify: route.skipCertVerify)
        backendKey = key
        if !fresh, let pooled = pool.take(key), let channel = pooled.channel {
            pooled.proxy = self
            backendHandler = pooled
            reused = true
            attach(channel, context)
            return
        }
        reused = false
        let handler = BackendHandler(proxy: self, pool: pool)
        backendHandler = handler
        let skipVerify = route.skipCertVerify
        setClientReading(false, context)
        ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if backend.tls {
                        var tls = TLSConfiguration.makeClientConfiguration()
                        if skipVerify { tls.certificateVerification = .none }
                        let ssl = try NIOSSLContext(configuration: tls)
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: skipVerify ? nil : backend.host))
                    }
                    // Headers come from requests NIO parsed (llhttp and NIOHTTP2 both refuse CR, LF, NUL in values)
                    // and the edge's own values: no second validation pass.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes, enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: backend.host, port: backend.port)
            .hop(to: loop)
            .whenComplete { [self] result in
                guard let context = self.context else {
                    if case .success(let c) = result { c.close(promise: nil) }
                    return
                }
                self.setClientReading(true, context)
                switch result {
                case .success(let channel):
                    attach(channel, context)
                case .failure(let error):
                    settings.logger.warning("backend unreachable", metadata: ["backend": "\(backend.host):\(backend.port)", "error": "\(error)"])
                    respond(.badGateway, "The application is not reachable.")
                }
            }
    }

    /// Sends the waiting request parts on `channel` and starts the response timer.
    private func attach(_ channel: any Channel, _ context: ChannelHandlerContext) {
        guard case .connecting(let parts) = state else {
            channel.close(promise: nil)
            return
        }
        for part in parts { channel.write(part, promise: nil) }
        channel.flush()
        state = .forwarding(channel)
        // Backpressure starts from this client's state, not from the pooled connection's last user.
        backendHandler?.setReading(context.channel.isWritable)
        let due = NIODeadline.now() + settings.responseTimeout
        responseDeadline = due
        // A 504 must be on time: re-arm when the armed timer (a head deadline) is later — never with
        // the defaults (head 30 s < response 60 s), so not per request.
        if let armed = timerDeadline, armed > due {
            responseTimer?.cancel()
            responseTimer = nil
        }
        if responseTimer == nil { armTimer(at: due, context) }
    }

    /// The next request may come: its head has `headTimeout` (checked when the armed timer fires,
    /// so after a response a slow head is closed within headTimeout + responseTimeout at most).
    private func awaitNextHead(_ context: ChannelHandlerContext) {
        headDeadline = .now() + settings.headTimeout
        if responseTimer == nil { armTimer(at: headDeadline!, context) }
    }

    /// One timer per connection, not per request, for both deadlines: when it fires early (a later
    /// request of a keep-alive connection), it re-arms for the deadline still pending.
    private func armTimer(at deadline: NIODeadline, _ context: ChannelHandlerContext) {
        timerDeadline = deadline
        responseTimer = context.eventLoop.scheduleTask(deadline: deadline) { [self] in
            responseTimer = nil
            timerDeadline = nil
            guard let context = self.context else { return }
            let now = NIODeadline.now()
            if let due = headDeadline {
                guard due <= now else { return armTimer(at: due, context) }
                settings.logger.info("no complete request head in time; closing the connection",
                                     metadata: ["client": "\(clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "-")",
                                                "timeout_s": "\(settings.headTimeout.nanoseconds / 1_000_000_000)"])
                context.close(promise: nil)
                return
            }
            guard let due = responseDeadline, !responseStarted, case .forwarding(let channel) = state else { return }
            guard due <= now else { return armTimer(at: due, context) }
            let timeout = settings.responseTimeout
            settings.logger.warning("backend timed out", metadata: ["backend": "\(backendKey.map { "\($0.host):\($0.port)" } ?? "?")",
                                                                   "timeout_ms": "\(timeout.nanoseconds / 1_000_000)"])
            state = .discarding
            channel.close(promise: nil)
            respond(.gatewayTimeout, "The application did not answer in time.")
        }
    }

    /// An edge-made response; the request's remaining parts are dropped.
    private func respond(_ status: HTTPResponseStatus, _ detail: String, extra: [(String, String)] = []) {
        respond(status, body: ErrorPage.body(status, detail), extra: extra)
    }

    private func respond(_ status: HTTPResponseStatus, body: ByteBuffer, contentType: String = "text/html; charset=utf-8",
                         extra: [(String, String)] = []) {
        guard let context else { return }
        state = .discarding
        access.status = Int(status.code)
        access.bytes = body.readableBytes
        access.finish(settings.accessLogger)
        context.write(wrapOutboundOut(.head(ErrorPage.head(status, version: requestVersion, bodyLength: body.readableBytes,
                                                            keepAlive: keepAlive, contentType: contentType, extra: extra))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        finishResponse(context)
    }

    private func finishResponse(_ context: ChannelHandlerContext) {
        let keepAlive = self.keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
        responseDeadline = nil
        if keepAlive { awaitNextHead(context) }
        responseDone(context)
        // The state stays .discarding: parts still arriving for this request are dropped; the next head starts afresh.
    }

    // MARK: from the backend

    func backendRead(_ part: HTTPClientResponsePart) {
        guard let context, case .forwarding = state else { return }
        switch part {
        case .head(var head):
            responseStarted = true
            backendKeepAlive = head.isKeepAlive
            responseDeadline = nil
            upgraded = upgradeRequested && head.status == .switchingProtocols
            for name in ["connection", "keep-alive", "transfer-encoding", "proxy-connection", "trailer", "upgrade"] where !upgraded || name != "upgrade" {
                head.headers.remove(name: name)
            }
            if upgraded { head.headers.add(name: "connection", value: "upgrade") } else if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
            head.version = requestVersion
            access.status = Int(head.status.code)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        case .body(let body):
            access.bytes += body.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        case .end(let trailers):
            // Idle first: closing the backend reports its inactivity synchronously (backendClosed).
            let finished = state
            state = .idle
            access.finish(settings.accessLogger)
            if upgraded, case .forwarding(let backend) = finished {
                return tunnel(backend, context)
            }
            // A backend that could not take more body paused this client: its next request must be read.
            if !clientReading { setClientReading(true, context) }
            if case .forwarding(let backend) = finished {
                // Back to the pool when both sides kept the connection reusable; else closed.
                if backendKeepAlive, requestEnded, let key = backendKey, let handler = backendHandler {
                    handler.proxy = nil
                    backendHandler = nil
                    BackendPool.of(context.eventLoop).give(handler, key)
                } else {
                    backend.close(promise: nil)
                }
            }
            let keepAlive = self.keepAlive
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
                awaitNextHead(context)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { _ in context.close(promise: nil) }
            }
            responseDone(context)
        }
    }

    /// After the 101: the client and the backend connection become one byte relay.
    private func tunnel(_ backend: any Channel, _ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        do { try UpgradeTunnel.start(client: context, backend: backend) } catch {
            settings.logger.warning("cannot switch the connection to a tunnel", metadata: ["error": "\(error)"])
            backend.close(promise: nil)
            context.close(promise: nil)
        }
    }

    func backendReadComplete() { context?.flush() }

    func backendWritabilityChanged(_ writable: Bool) {
        // The backend cannot take more request body: stop reading the client.
        if let context { setClientReading(writable, context) }
    }

    /// Pauses or resumes reading the client. An HTTP/2 stream channel does not read again by itself
    /// when autoRead is turned back on (a socket channel does): hence the explicit read.
    private func setClientReading(_ on: Bool, _ context: ChannelHandlerContext) {
        guard on != clientReading else { return }
        clientReading = on
        if let options = context.channel.syncOptions { try? options.setOption(ChannelOptions.autoRead, value: on) } else {
            context.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
        }
        if on { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The client cannot take more response: stop reading the backend.
        if case .forwarding = state { backendHandler?.setReading(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func backendClosed(_ channel: any Channel) {
        guard case .forwarding(let current) = state, current === channel else { return }
        // A pooled connection the backend had closed: send the (bodiless) request again on a new one.
        if reused, !responseStarted, let parts = retryParts, requestEnded, let route = currentRoute, let context {
            settings.logger.debug("pooled backend connection was closed; retrying on a new one")
            state = .connecting(parts)
            connect(route, context, fresh: true)
            return
        }
        state = .discarding
        if responseStarted {
            access.finish(settings.accessLogger, note: "backend closed mid-response")
            context?.close(promise: nil)  // the response was cut: the client must not take it as whole
        } else {
            respond(.badGateway, "The application closed the connection without answering.")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settings.logger.debug("client connection error", metadata: ["error": "\(error)"])
        // A malformed request (bad framing, CR/LF where none may be, oversized head): 400 and close,
        // as NIO's HTTPServerProtocolErrorHandler does — unless a response is already under way.
        // Requests before it are answered first (the malformed one came after them).
        if error is HTTPParserError {
            malformed = true
            if !responding, pipelined.isEmpty { refuseMalformed() }
            return
        }
        context.close(promise: nil)
    }

    private func refuseMalformed() {
        malformed = false
        keepAlive = false
        pipelined = []
        access = AccessRecord(client: clientAddress ?? "-", host: "-", method: "-", path: "-")
        respond(.badRequest, "The request is malformed.")
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Graceful drain: finish the response under way, then close; close an idle connection now.
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        keepAlive = false
        pipelined = []
        if !responding { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .forwarding(let backend) = state { backend.close(promise: nil) }
        state = .idle
        responseTimer?.cancel()
        context.fireChannelInactive()
    }
}

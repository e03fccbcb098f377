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

/// One client connection of the edge (after NIO's HTTP/1.1 decoder and encoder,
/// or one HTTP/2 stream): answers pipelined requests in order, routes each,
/// streams it to a pooled (or new) backend connection and the response back,
/// both ways with backpressure.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        /// The backend is being connected; request parts wait here.
        case connecting([HTTPClientRequestPart])
        case forwarding(any Channel)
        /// An edge-made response was sent; the rest of the request is discarded.
        case discarding
    }

    let settings: ProxySettings
    var context: ChannelHandlerContext?
    var state = State.idle
    var keepAlive = true
    var requestVersion = HTTPVersion.http1_1
    var responseStarted = false
    /// The one timer of the connection, for whichever deadline is due first.
    var deadlineTimer: Scheduled<Void>?
    /// When the current request's backend must have started answering (nil: it has, or no request).
    var responseDeadline: NIODeadline?
    /// When the armed timer fires.
    var timerDeadline: NIODeadline?
    /// When the next request head must be complete (nil: a request is being served).
    var headDeadline: NIODeadline?
    var access = AccessRecord()
    /// The backend of the current request (for the pool) and whether it came from the pool.
    var backendKey: BackendPool.Key?
    var reused = false
    /// The request as sent, while it can still be sent again on a fresh connection
    /// (a pooled connection the backend closed before answering; requests without a body only).
    var retryParts: [HTTPClientRequestPart]?
    var requestEnded = false
    var backendKeepAlive = false
    var currentRoute: Route?
    /// The current backend connection's handler (reading toggles, the pool).
    var backendHandler: BackendHandler?
    /// The client's IP address as text, worked out once per connection.
    var clientAddress: String?
    /// Whether this client connection reads (false: paused while the backend cannot take more).
    var clientReading = true
    /// The request asked to switch protocols (websocket): a fresh backend connection, a tunnel after a 101.
    var upgradeRequested = false
    var upgraded = false
    /// A request is being answered (its response not complete yet).
    var responding = false
    /// The decoder refused what followed: a 400 and the close once earlier requests are answered.
    var malformed = false
    /// Parts of requests pipelined behind the one being answered.
    var pipelined: [HTTPServerRequestPart] = []

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

    func handle(_ part: HTTPServerRequestPart, _ context: ChannelHandlerContext) {
        switch part {
        case .head(let head): start(head, context)
        case .body(let body): forward(.body(.byteBuffer(body)))
        case .end(let trailers): forward(.end(trailers))
        }
    }

    func forward(_ part: HTTPClientRequestPart) {
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

    func start(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
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
        upgradeRequested = UpgradeTunnel.isUpgrade(head)
        upgraded = false
        var headers = HopByHop.strip(head.headers, isRequest: true, keepUpgrade: upgradeRequested)
        if upgradeRequested { headers.add(name: "connection", value: "upgrade") }
        let forwardedFor = (head.headers.first(name: "x-forwarded-for").map { $0 + ", " } ?? "") + client
        headers.replaceOrAdd(name: "x-forwarded-for", value: forwardedFor)
        headers.replaceOrAdd(name: "x-forwarded-proto", value: settings.tls ? "https" : "http")
        headers.replaceOrAdd(name: "x-forwarded-host", value: host)
        let backendHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: route.backendPath(for: head.uri), headers: headers)
        state = .connecting([.head(backendHead)])
        retryParts = [.head(backendHead)]
        currentRoute = route
        connect(route, context, fresh: upgradeRequested)
    }

    /// An edge-made response; the request's remaining parts are dropped.
    func respond(_ status: HTTPResponseStatus, _ detail: String, extra: [(String, String)] = []) {
        respond(status, body: ErrorPage.body(status, detail), extra: extra)
    }

    func respond(_ status: HTTPResponseStatus, body: ByteBuffer, contentType: String = "text/html; charset=utf-8",
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

    func finishResponse(_ context: ChannelHandlerContext) {
        responseDeadline = nil
        endResponse(nil, context)
        // The state stays .discarding: parts still arriving for this request are dropped; the next head starts afresh.
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

    func refuseMalformed() {
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
        deadlineTimer?.cancel()
        context.fireChannelInactive()
    }
}

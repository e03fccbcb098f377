import Logging
import Net
import NIOCore
import NIOSSL

/// One client connection of the edge, on HTTP/1.1 bytes (after TLS, or from an
/// HTTP/2 stream through ``HTTP2StreamBridge``): parses each request head
/// (``HeadParser``), routes it, writes the backend's request head and passes
/// the body on as it came (``BodyReader`` finds its end), then does the same
/// for the response — no message objects, one write per read each way.
/// Pipelined requests are answered in order: the next head is parsed only
/// once the response before it is complete.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case idle
        /// The backend is being connected; the request's bytes wait here.
        case connecting(ByteBuffer)
        case forwarding(any Channel)
        /// An edge-made response was sent; the rest of the request is discarded.
        case discarding
    }

    let settings: ProxySettings
    var context: ChannelHandlerContext?
    var state = State.idle
    /// Bytes from the client not handled yet (a partial head, or requests pipelined behind the current one).
    var inbound = ByteBuffer()
    var requestParser: HeadParser
    /// The current request's body; done once it has all been passed on.
    var requestBody = BodyReader(.none)
    var keepAlive = true
    var requestMinorVersion = 1
    var requestIsHead = false
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
    /// The request head as sent, while it can be sent again on a fresh connection
    /// (a pooled connection the backend closed before answering; requests without a body only).
    var retryBytes: ByteBuffer?
    var currentRoute: RouteEntry?
    /// The route table as of the last request (refreshed after a reload, without a lock per request).
    var routes = RouteSnapshot()
    /// The current backend connection's handler (reading toggles, the pool).
    var backendHandler: BackendHandler?
    /// This loop's backend pool, and the idle list of the last backend used (found again without hashing its key).
    var pool: BackendPool?
    var lastIdleList: (key: BackendPool.Key, list: BackendPool.IdleList)?
    /// The client's IP address as text, worked out once per connection (and parsed, for allowlists).
    var clientAddress: String?
    var clientIP: IPAddress?
    /// Whether this client connection reads (false: paused while the backend cannot take more).
    var clientReading = true
    /// The request asked to switch protocols (websocket): a fresh backend connection, a tunnel after a 101.
    var upgradeRequested = false
    /// A request is being answered (its response not complete yet).
    var responding = false
    /// ``process(_:)`` is running (a response completed inside it must not start it again).
    var processing = false
    // The response side (ProxyHandler+Backend).
    var responseParser: HeadParser
    /// Backend bytes not handled yet (a partial head, the unread part of a body step).
    var backendInbound = ByteBuffer()
    /// The response's body once its head is through (nil: waiting for the head).
    var responseBody: BodyReader?
    /// Pass chunked framing to the client as it came (else only the data: an HTTP/1.0 client).
    var passFraming = true
    /// The final response head was passed on (its body is being).
    var responseStarted: Bool { responseBody != nil }
    var backendKeepAlive = false
    /// Written but not flushed yet, to the client and to the backend.
    var clientUnflushed = false, backendUnflushed = false
    /// The backend request heads the edge writes, one buffer per connection (no allocation per request).
    var requestHeadBuffer = ByteBuffer()
    /// Response head and small pieces of body gathered for one write (``sendToClient(_:_:)``).
    var gathered = ByteBuffer()
    var gathering = false

    /// On an HTTP/1.1 connection (not an HTTP/2 stream): it watches the connection's idleness and
    /// closes it past TLS without waiting out the TLS shutdown timeout (``closeClient(_:)``).
    let ownsConnection: Bool
    /// The client ended its side (FIN): the requests it sent are answered, then the connection closes.
    var clientInputClosed = false
    var idleWatch: IdleWatch?
    var idleTimer: Scheduled<Void>?

    init(settings: ProxySettings, ownsConnection: Bool = false) {
        self.settings = settings
        self.ownsConnection = ownsConnection
        requestParser = HeadParser(.request, maxBytes: settings.maxHeadBytes)
        responseParser = HeadParser(.response, maxBytes: settings.maxHeadBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        headDeadline = .now() + settings.headTimeout
        armTimer(at: headDeadline!, context)
        if ownsConnection { watchIdle(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        deadlineTimer?.cancel()  // a tunnel took the connection over
        idleTimer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        idleWatch?.touch()
        inbound.appendPending(unwrapInboundIn(data))
        process(context)
    }

    /// Handles what `inbound` holds: the current request's body, else (no response pending) the next head.
    func process(_ context: ChannelHandlerContext) {
        processing = true
        defer {
            processing = false
            inbound.releaseIfDrained()
        }
        while inbound.readableBytes > 0 {
            if !requestBody.isDone {
                do { try passRequestBody() } catch {
                    guard !responseStarted else {
                        settings.logger.info("bad request body; closing the connection", metadata: ["client": "\(access.client)", "error": "\(error)"])
                        return closeClient(context)
                    }
                    return refuse(error)
                }
                continue
            }
            // HTTP/1.1 pipelining: a request sent before the previous response ended waits, in order,
            // and reading stops until then (memory stays bounded).
            guard !responding else { return setClientReading(false, context) }
            let head: MessageHead
            do {
                guard let parsed = try requestParser.parse(&inbound) else { return }
                head = parsed
            } catch {
                access = AccessRecord(client: clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "-", host: "-", method: "-", path: "-")
                return refuse(error)
            }
            start(head, context)
        }
    }

    /// Passes on the body bytes `inbound` holds (framing and all: the backend frames it as the client did).
    func passRequestBody() throws(HTTPWireError) {
        var length = 0
        loop: while true {
            switch try requestBody.next(in: inbound, at: length) {
            case .data(let n), .framing(let n): length += n
            case .needMore, .done: break loop
            }
        }
        let bytes = inbound.readSlice(length: length)!
        retryBytes = nil
        forward(bytes, end: requestBody.isDone)
    }

    func forward(_ bytes: ByteBuffer, end: Bool) {
        switch state {
        case .connecting(var pending):
            state = .idle
            var more = bytes
            pending.writeBuffer(&more)
            state = .connecting(pending)
        case .forwarding:
            if bytes.readableBytes > 0 {
                backendHandler?.send(bytes, flush: false)
                backendUnflushed = true
            }
            if end, backendUnflushed { flushBackend() }
        case .idle, .discarding:
            break
        }
    }

    func flushBackend() {
        backendUnflushed = false
        backendHandler?.flush()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if backendUnflushed, case .forwarding = state { flushBackend() }
        context.fireChannelReadComplete()
    }

    func start(_ head: MessageHead, _ context: ChannelHandlerContext) {
        responding = true
        headDeadline = nil
        keepAlive = head.isKeepAlive
        requestMinorVersion = head.minorVersion
        requestIsHead = head.bytes.equalsIgnoringCase(head.first, "head")
        let host = head.value("host") ?? ""
        let target = head.string(head.second)
        if clientAddress == nil { clientAddress = context.channel.remoteAddress?.ipAddress ?? "" }
        let client = clientAddress ?? ""
        let now = NIODeadline.now()
        access = AccessRecord(started: now, client: client.isEmpty ? "-" : client, host: host.isEmpty ? "-" : host,
                              method: head.string(head.first), path: target)
        do { requestBody = BodyReader(try head.requestFraming()) } catch { return refuse(error) }
        guard !host.isEmpty else { return respond(400, "The request has no Host header.") }
        if !settings.tls, let answer = settings.challenges?.answer(path: target) {
            access.route = "acme-challenge"
            return respond(200, body: ByteBuffer(string: answer), contentType: "text/plain")
        }
        let table = routes.table(from: settings.routes)
        guard let entry = table.matchEntry(host: host, path: target) else { return respond(404, "No route for this host and path.") }
        access.route = entry.route.instance
        access.metrics = entry.metrics
        if !entry.route.ipAllowlist.isEmpty, !isAllowed(by: entry.route.ipAllowlist, client) {
            return respond(403, "Your address may not use this route.")
        }
        if entry.route.http2https, !settings.tls {
            let location = "https://\(RouteTable.hostWithoutPort(host))\(target)"
            return respond(308, "Moved to <a href=\"\(location)\">HTTPS</a>.", extra: [("location", location)])
        }
        upgradeRequested = head.minorVersion >= 1 && head.has("upgrade") && head.hasToken("connection", "upgrade")
        var rules = HopByHop(head)
        rules.keepUpgrade = upgradeRequested
        rules.dropForwarded = true
        let forwardedFor = head.has("x-forwarded-for") ? head.values("x-forwarded-for").map { $0 + ", " }.joined() + client : client
        // Reused per connection: the last request's copy was written and let go of.
        requestHeadBuffer.clear()
        HeadWriter.request(head, target: entry.route.backendPath(for: target), rules: rules, forwardedFor: forwardedFor, proto: settings.tls ? "https" : "http",
                           host: host, extra: upgradeRequested ? "connection: upgrade\r\n" : nil, into: &requestHeadBuffer)
        let bytes = requestHeadBuffer
        state = .connecting(bytes)
        retryBytes = requestBody.isDone ? bytes : nil
        currentRoute = entry
        connect(entry, context, fresh: upgradeRequested, now: now)
    }

    /// Whether the client's address is in one of `ranges` (the address parsed once per connection).
    func isAllowed(by ranges: [IPRange], _ client: String) -> Bool {
        if clientIP == nil { clientIP = IPAddress(client) }
        guard let ip = clientIP else { return false }
        return ranges.contains { $0.contains(ip) }
    }

    /// An edge-made response (small HTML page); the request's remaining bytes are dropped.
    func respond(_ status: Int, _ detail: String, extra: [(String, String)] = []) {
        respond(status, body: ErrorPage.body(status, detail), extra: extra)
    }

    func respond(_ status: Int, body: ByteBuffer, contentType: String = "text/html; charset=utf-8", extra: [(String, String)] = []) {
        guard let context else { return }
        state = .discarding
        access.status = status
        access.bytes = body.readableBytes
        logAccess()
        var fields = [("content-type", contentType), ("content-length", String(body.readableBytes)), ("cache-control", "no-store")] + extra
        if !keepAlive { fields.append(("connection", "close")) }
        var out = context.channel.allocator.buffer(capacity: 256 + body.readableBytes)
        HeadWriter.response(status: status, reason: ErrorPage.reason(status), fields: fields, into: &out)
        var page = body
        out.writeBuffer(&page)
        sendToClient(out, context)
        responseDeadline = nil
        endResponse(context)
        // The state stays .discarding: body bytes still arriving for this request are dropped; the next head starts afresh.
    }

    /// A request that cannot be read: its status (400, 431, 501) and the close (a backend it was going to, too).
    func refuse(_ error: HTTPWireError) {
        settings.logger.info("malformed request; answering \(error.status) and closing", metadata: ["client": "\(access.client)", "error": "\(error)"])
        keepAlive = false
        requestBody = BodyReader(.none)
        inbound.release()
        responding = true
        let before = state
        respond(error.status, "The request is malformed: \(error).")
        if case .forwarding(let backend) = before { backend.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settings.logger.debug("client connection error", metadata: ["error": "\(error)"])
        // The client closed without close_notify: its input has ended, nothing more will come.
        if case .uncleanShutdown = error as? NIOSSLError { clientInputClosed = true }
        closeClient(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The client ended its side: the requests it sent are still answered, then the close
            // (once written: a half-closed client may still be reading).
            clientInputClosed = true
            if !responding { closeWhenWritten(context) }
        case is ChannelShouldQuiesceEvent:
            // Graceful drain: finish the response under way, then close; close an idle connection now.
            keepAlive = false
            if !responding { closeClient(context) }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// The current request's access-log line (and its metrics).
    func logAccess(note: String? = nil, now: NIODeadline = .now()) {
        access.finish(settings.accessLogger, note: note, clientEnded: clientInputClosed, now: now)
    }

    /// Closes the client connection; on HTTP/1.1 over TLS through ``TLSClose`` (close_notify, then
    /// the socket closed as soon as the client's input ends, not after NIOSSL's 5 s shutdown timeout).
    func closeClient(_ context: ChannelHandlerContext) {
        guard settings.tls, ownsConnection else { return context.close(promise: nil) }
        TLSClose.close(context, peerInputClosed: clientInputClosed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadlineTimer?.cancel()
        idleTimer?.cancel()
        abandonRequest(note: responseStarted ? "client closed mid-response" : "client closed before the response")
        context.fireChannelInactive()
    }

    /// The client side ends while a request is forwarded: its line in the access log (499 when
    /// nothing was answered yet, as nginx logs it), and the backend connection closed.
    func abandonRequest(note: String) {
        guard case .forwarding(let backend) = state else { return }
        state = .idle  // first: the backend's close reports back synchronously (backendClosed)
        if !responseStarted { access.status = 499 }
        logAccess(note: note)
        backend.close(promise: nil)
    }
}

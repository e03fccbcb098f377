import Net
import NIOCore
import NIOPosix
import NIOSSL

/// The backend side of ``ProxyHandler``: connecting (or taking a pooled
/// connection), the response coming back as bytes (its head rewritten, its
/// body passed on as it came), backpressure both ways, a backend that
/// closes, and the switch to a tunnel after a 101.
extension ProxyHandler {
    func connect(_ entry: RouteEntry, _ context: ChannelHandlerContext, fresh: Bool = false, now: NIODeadline = .now()) {
        let loop = context.eventLoop
        let pool = self.pool ?? BackendPool.of(loop)
        self.pool = pool
        let key = entry.backendKey
        backendKey = key
        resetResponse()
        if !fresh, let pooled = idleList(key, pool).take(now: now), let channel = pooled.channel {
            pooled.proxy = self
            backendHandler = pooled
            reused = true
            attach(channel, context, now: now)
            return
        }
        reused = false
        let handler = BackendHandler(proxy: self, pool: pool)
        backendHandler = handler
        let backend = entry.route.backend
        let skipVerify = entry.route.skipCertVerify
        setClientReading(false, context)
        ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if backend.tls {
                        try channel.pipeline.syncOperations.addHandler(try BackendTLS.handler(host: backend.host, skipVerify: skipVerify))
                    }
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
                    respond(502, "The application is not reachable.")
                }
            }
    }

    /// The pool's idle list for `key`: the last one used when the backend is the same (most requests).
    func idleList(_ key: BackendPool.Key, _ pool: BackendPool) -> BackendPool.IdleList {
        if let last = lastIdleList, last.key == key { return last.list }
        let list = pool.list(key)
        lastIdleList = (key, list)
        return list
    }

    /// Sends the waiting request bytes on `channel` and starts the response timer.
    func attach(_ channel: any Channel, _ context: ChannelHandlerContext, now: NIODeadline = .now()) {
        guard case .connecting(let pending) = state else {
            channel.close(promise: nil)
            return
        }
        backendHandler?.send(pending, flush: true)  // set with the connection (pooled or new) before this
        state = .forwarding(channel)
        // Backpressure starts from this client's state, not from the pooled connection's last user.
        backendHandler?.setReading(context.channel.isWritable)
        let due = now + settings.responseTimeout
        responseDeadline = due
        // A 504 must be on time: re-arm when the armed timer (a head deadline) is later — never with
        // the defaults (head 30 s < response 60 s), so not per request.
        if let armed = timerDeadline, armed > due {
            deadlineTimer?.cancel()
            deadlineTimer = nil
        }
        if deadlineTimer == nil { armTimer(at: due, context) }
    }

    func resetResponse() {
        responseParser.reset()
        responseBody = nil
        backendInbound.release()
    }

    /// Bytes from the backend: the response head (rewritten for the client), then its body as it came.
    func backendRead(_ bytes: ByteBuffer) {
        guard let context, case .forwarding(let backend) = state else { return }
        backendInbound.appendPending(bytes)
        defer { backendInbound.releaseIfDrained() }
        do {
            while backendInbound.readableBytes > 0 || responseBody?.isDone == true {
                guard var body = responseBody else {
                    guard let head = try responseParser.parse(&backendInbound) else { return }
                    if try !responseHead(head, context) { return tunnel(backend, context) }
                    continue
                }
                let done = try passResponseBody(&body, context)
                responseBody = body
                if done { return responseEnded(context) }
                if backendInbound.readableBytes == 0 { return }
            }
        } catch {
            settings.logger.warning("bad response from the backend", metadata: ["backend": "\(backendKey.map { "\($0.host):\($0.port)" } ?? "?")", "error": "\(error)"])
            state = .discarding
            backend.close(promise: nil)
            guard responseStarted else { return respond(502, "The application answered with a malformed response.") }
            cutResponse(context)
        }
    }

    /// Writes the client's response head; false when the connection switches to a tunnel (101).
    func responseHead(_ head: MessageHead, _ context: ChannelHandlerContext) throws(HTTPWireError) -> Bool {
        let status = head.statusCode
        var rules = HopByHop(head)
        if status == 101, upgradeRequested {
            rules.keepUpgrade = true
            write(head, rules, extra: "connection: upgrade\r\n", context)
            return false
        }
        if status < 200 {  // 100 Continue and other interim answers: passed on (HTTP/1.1 clients); the final one follows
            if requestMinorVersion >= 1 { write(head, rules, extra: nil, context) }
            return true
        }
        let framing = try head.responseFraming(toHead: requestIsHead)
        responseDeadline = nil
        backendKeepAlive = head.isKeepAlive && framing != .untilClose
        // A body that ends with the backend's close ends with the client's; an HTTP/1.0 client gets chunks as plain data, then the close.
        passFraming = framing != .chunked || requestMinorVersion >= 1
        if framing == .untilClose || !passFraming { keepAlive = false }
        rules.keepTransferEncoding = passFraming
        rules.dropContentLength = framing == .chunked
        access.status = status
        write(head, rules, extra: keepAlive ? (requestMinorVersion == 0 ? "connection: keep-alive\r\n" : nil) : "connection: close\r\n", context)
        responseBody = BodyReader(framing)
        return true
    }


    /// Passes on the body bytes `backendInbound` holds; true once the body is complete.
    func passResponseBody(_ body: inout BodyReader, _ context: ChannelHandlerContext) throws(HTTPWireError) -> Bool {
        var length = 0
        loop: while true {
            switch try body.next(in: backendInbound, at: length) {
            case .data(let n):
                access.bytes += n
                if !passFraming {
                    if length > 0 { backendInbound.moveReaderIndex(forwardBy: length) }
                    sendToClient(backendInbound.readSlice(length: n)!, context)
                    length = 0
                } else {
                    length += n
                }
            case .framing(let n): length += n
            case .needMore, .done: break loop
            }
        }
        if passFraming, length > 0 { sendToClient(backendInbound.readSlice(length: length)!, context) }
        else { backendInbound.moveReaderIndex(forwardBy: length) }
        return body.isDone
    }

    /// The response is complete: the backend connection back to the pool (or closed), then the next request.
    func responseEnded(_ context: ChannelHandlerContext) {
        // Idle first: closing the backend reports its inactivity synchronously (backendClosed).
        let finished = state
        state = .idle
        let now = NIODeadline.now()
        logAccess(now: now)
        // A backend that could not take more body paused this client: its next request must be read.
        if !clientReading { setClientReading(true, context) }
        if case .forwarding(let backend) = finished {
            // Back to the pool when both sides kept the connection reusable (and it sent nothing more); else closed.
            if backendKeepAlive, requestBody.isDone, backendInbound.readableBytes == 0, let key = backendKey, let handler = backendHandler {
                handler.proxy = nil
                backendHandler = nil
                if let pool { idleList(key, pool).give(handler, now: now) } else { handler.channel?.close(promise: nil) }
            } else {
                backend.close(promise: nil)
            }
        }
        resetResponse()
        retryBytes = nil
        endResponse(context, now: now)
    }

    /// A response that cannot be completed: what came is passed on, then the close (the client
    /// must not take it as whole).
    func cutResponse(_ context: ChannelHandlerContext) {
        flushClient(context)
        closeClient(context)
    }

    /// After the 101: the client and the backend connection become one byte relay; bytes either
    /// side sent right after the handshake are passed on first.
    func tunnel(_ backend: any Channel, _ context: ChannelHandlerContext) {
        state = .idle
        access.status = 101
        logAccess()
        if backendInbound.readableBytes > 0 { sendToClient(backendInbound, context); backendInbound.release() }
        flushClient(context)
        if inbound.readableBytes > 0 { backend.writeAndFlush(inbound, promise: nil); inbound.release() }
        do {
            try handOverIdleWatch(context)
            try UpgradeTunnel.start(client: context, backend: backend)
        } catch {
            settings.logger.warning("cannot switch the connection to a tunnel", metadata: ["error": "\(error)"])
            backend.close(promise: nil)
            closeClient(context)
        }
    }

    func backendWritabilityChanged(_ writable: Bool) {
        // The backend cannot take more request body: stop reading the client.
        if let context { setClientReading(writable, context) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The client cannot take more response: stop reading the backend.
        if case .forwarding = state { backendHandler?.setReading(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func backendClosed(_ channel: any Channel) {
        guard case .forwarding(let current) = state, current === channel, let context else { return }
        // A body delimited by the close: complete.
        if responseBody?.endsWithConnection == true { return responseEnded(context) }
        // A pooled connection the backend had closed: send the (bodiless) request again on a new one.
        if reused, !responseStarted, let bytes = retryBytes, requestBody.isDone, let entry = currentRoute {
            settings.logger.debug("pooled backend connection was closed; retrying on a new one")
            state = .connecting(bytes)
            connect(entry, context, fresh: true)
            return
        }
        state = .discarding
        if responseStarted {
            logAccess(note: "backend closed mid-response")
            cutResponse(context)
        } else {
            respond(502, "The application closed the connection without answering.")
        }
    }
}

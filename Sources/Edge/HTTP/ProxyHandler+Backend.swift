import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The backend side of ``ProxyHandler``: connecting (or taking a pooled
/// connection), the response coming back, backpressure both ways, a backend
/// that closes, and the switch to a tunnel after a 101.
extension ProxyHandler {
    func connect(_ route: Route, _ context: ChannelHandlerContext, fresh: Bool = false) {
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
                        try channel.pipeline.syncOperations.addHandler(try BackendTLS.handler(host: backend.host, skipVerify: skipVerify))
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
    func attach(_ channel: any Channel, _ context: ChannelHandlerContext) {
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
            deadlineTimer?.cancel()
            deadlineTimer = nil
        }
        if deadlineTimer == nil { armTimer(at: due, context) }
    }

    func backendRead(_ part: HTTPClientResponsePart) {
        guard let context, case .forwarding = state else { return }
        switch part {
        case .head(var head):
            responseStarted = true
            backendKeepAlive = head.isKeepAlive
            responseDeadline = nil
            upgraded = upgradeRequested && head.status == .switchingProtocols
            head.headers = HopByHop.strip(head.headers, isRequest: false, keepUpgrade: upgraded)
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
            endResponse(trailers, context)
        }
    }

    /// Writes the response's end; then the next request (keep-alive) or the close.
    func endResponse(_ trailers: HTTPHeaders?, _ context: ChannelHandlerContext) {
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            awaitNextHead(context)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { _ in context.close(promise: nil) }
        }
        responseDone(context)
    }

    /// After the 101: the client and the backend connection become one byte relay.
    func tunnel(_ backend: any Channel, _ context: ChannelHandlerContext) {
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
    func setClientReading(_ on: Bool, _ context: ChannelHandlerContext) {
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
}

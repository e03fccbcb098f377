import Net
import NIOCore

/// ``ProxyHandler``'s pacing: requests pipelined behind a response, and the one
/// per-connection timer for the head and response deadlines.
extension ProxyHandler {
    /// The response is complete: serve the requests that were pipelined behind it (unless this runs
    /// inside ``process(_:)``, whose loop goes on by itself: no recursion per pipelined request).
    func responseDone(_ context: ChannelHandlerContext) {
        responding = false
        guard keepAlive else {
            inbound.release()
            return
        }
        if !processing { process(context) }
        // A client that ended its side and has no request left: closed once its answers are out.
        if clientInputClosed, !responding, !processing { return closeWhenWritten(context) }
        if !clientReading, !isConnecting, !(responding && requestBody.isDone && inbound.readableBytes > 0) { setClientReading(true, context) }
    }

    var isConnecting: Bool {
        if case .connecting = state { return true }
        return false
    }

    /// The next request may come: its head has `headTimeout` (checked when the armed timer fires,
    /// so after a response a slow head is closed within headTimeout + responseTimeout at most).
    func awaitNextHead(_ context: ChannelHandlerContext, now: NIODeadline = .now()) {
        headDeadline = now + settings.headTimeout
        if deadlineTimer == nil { armTimer(at: headDeadline!, context) }
    }

    /// The idle timeout of an HTTP/1.1 connection (``IdleWatch``: reads and writes counted, a check
    /// every quarter of the timeout); a tunnel gets Net's IdleTimeoutHandler instead (``handOverIdleWatch(_:)``).
    func watchIdle(_ context: ChannelHandlerContext) {
        if idleWatch == nil { idleWatch = IdleWatch(timeout: settings.idleTimeout, now: .now()) }
        guard let period = idleWatch?.period else { return }
        idleTimer = context.eventLoop.scheduleTask(in: period) { [self] in
            guard let context = self.context, context.channel.isActive, idleWatch != nil else { return }
            guard idleWatch?.isIdle(now: .now()) == true else { return watchIdle(context) }
            settings.logger.info("closing idle connection", metadata: [
                "client": "\(clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "-")",
                "idle_timeout_ms": "\(settings.idleTimeout.nanoseconds / 1_000_000)",
            ])
            abandonRequest(note: "idle timeout")
            closeClient(context)
        }
    }

    /// The connection becomes a tunnel (this handler leaves): its idle timeout goes on in Net's handler.
    func handOverIdleWatch(_ context: ChannelHandlerContext) throws {
        guard idleWatch != nil else { return }
        idleWatch = nil
        idleTimer?.cancel()
        idleTimer = nil
        let logger = settings.logger, timeout = settings.idleTimeout
        try context.pipeline.syncOperations.addHandler(IdleTimeoutHandler(timeout: timeout) { channel in
            logger.info("closing idle tunnel", metadata: ["peer": "\(channel.remoteAddress?.ipAddress ?? "-")",
                                                           "idle_timeout_ms": "\(timeout.nanoseconds / 1_000_000)"])
        }, position: .first)
    }

    /// One timer per connection, not per request, for both deadlines: when it fires early (a later
    /// request of a keep-alive connection), it re-arms for the deadline still pending.
    func armTimer(at deadline: NIODeadline, _ context: ChannelHandlerContext) {
        timerDeadline = deadline
        deadlineTimer = context.eventLoop.scheduleTask(deadline: deadline) { [self] in
            deadlineTimer = nil
            timerDeadline = nil
            guard let context = self.context else { return }
            let now = NIODeadline.now()
            if let due = headDeadline {
                guard due <= now else { return armTimer(at: due, context) }
                settings.logger.info("no complete request head in time; closing the connection",
                                     metadata: ["client": "\(clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "-")",
                                                "timeout_s": "\(settings.headTimeout.nanoseconds / 1_000_000_000)"])
                closeClient(context)
                return
            }
            guard let due = responseDeadline, !responseStarted, case .forwarding(let channel) = state else { return }
            guard due <= now else { return armTimer(at: due, context) }
            let timeout = settings.responseTimeout
            settings.logger.warning("backend timed out", metadata: ["backend": "\(backendKey.map { "\($0.host):\($0.port)" } ?? "?")",
                                                                   "timeout_ms": "\(timeout.nanoseconds / 1_000_000)"])
            state = .discarding
            channel.close(promise: nil)
            respond(504, "The application did not answer in time.")
        }
    }
}

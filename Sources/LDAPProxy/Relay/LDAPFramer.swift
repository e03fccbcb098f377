import Logging
import Metrics
import Net
import NIOCore

/// One relayed connection's bookkeeping, shared by its two framers (same
/// event loop): requests waiting for their final response, and the metrics.
final class LDAPConnectionStats: @unchecked Sendable {  // used on its channels' loop only
    /// Requests timed at once per connection, at most (beyond it latency goes unmeasured, memory stays bounded).
    static let maxPending = 4096
    let domain: String
    let provider: String
    let metrics: LDAPMetrics
    var pending: [Int32: NIODeadline] = [:]
    /// Set by a graceful shutdown: the client is let go once nothing is pending.
    var draining = false
    /// Ends the client connection (set by the client-side framer).
    var releaseClient: (() -> Void)?

    init(domain: String, provider: String, metrics: LDAPMetrics) {
        self.domain = domain
        self.provider = provider
        self.metrics = metrics
    }
}

/// What a framer needs besides the connection's stats.
struct LDAPFramerSettings: Sendable {
    /// `--max-message-size`.
    var limit: Int
    /// A client that leaves a message unfinished this long without sending more is closed; nil for never.
    var messageTimeout: TimeAmount?
    var logger: Logger
}

/// Frames whole LDAPMessages on one side of a relay and passes them on,
/// unchanged, in one buffer per read: requests from the client, responses
/// from the provider. Bytes that are not LDAP, an indefinite length, a
/// message over the limit, or (client side) half a message left stalled
/// close the connection with a log line; a client first gets a notice of
/// disconnection.
final class LDAPFramer: ChannelInboundHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    enum Side { case client, provider }

    private let side: Side
    private let stats: LDAPConnectionStats
    private let settings: LDAPFramerSettings
    private var buffer = ByteBuffer()
    private var failed = false
    private var lastProgress = NIODeadline.uptimeNanoseconds(0)
    private var stallTimer: Scheduled<Void>?
    /// Whether binds are logged (debug), decided once per connection rather than asked of the log handler per bind.
    private let logsBinds: Bool

    init(side: Side, stats: LDAPConnectionStats, settings: LDAPFramerSettings) {
        self.side = side
        self.stats = stats
        self.settings = settings
        logsBinds = side == .client && settings.logger.logLevel <= .debug
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        buffer.appendPending(unwrapInboundIn(data))
        var view = buffer  // the same storage: reading it moves only its own reader index
        do {
            while let frame = try LDAPMessageFrame.parse(from: &view, limit: settings.limit) { observe(frame) }
        } catch {
            refuse(context, "\(error)", code: .protocolError)
            return
        }
        let complete = view.readerIndex - buffer.readerIndex
        if complete > 0, let messages = buffer.readSlice(length: complete) {
            context.fireChannelRead(wrapInboundOut(messages))
            // After the answers were handed to the relay: the notice goes out behind them.
            if side == .provider, stats.draining, stats.pending.isEmpty { stats.releaseClient?() }
        }
        // Drained: the read buffer is let go of (clear() would allocate anew: its storage is shared with what was passed on).
        buffer.releaseIfDrained()
        if buffer.readerIndex > 64 << 10 { buffer.discardReadBytes() }
        if side == .client, settings.messageTimeout != nil, buffer.readableBytes > 0 {
            lastProgress = context.eventLoop.now
            if stallTimer == nil { armStallTimer(context, at: lastProgress + settings.messageTimeout!) }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard side == .client else { return }
        let loopBound = NIOLoopBound(context.channel, eventLoop: context.eventLoop)
        stats.releaseClient = { [weak stats] in
            stats?.releaseClient = nil
            Farewell.send(LDAPMessages.noticeOfDisconnection(.unavailable, "the LDAP proxy is shutting down"), on: loopBound.value)
        }
    }

    /// A graceful shutdown (``Listener/drain(deadline:)``): an idle client is
    /// let go at once with a notice, a busy one once its last answer is out.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if side == .client, event is ChannelShouldQuiesceEvent {
            stats.draining = true
            if stats.pending.isEmpty, buffer.readableBytes == 0 { stats.releaseClient?() }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stats.releaseClient = nil
        stallTimer?.cancel()
        stallTimer = nil
        context.fireChannelInactive()
    }

    private func observe(_ frame: LDAPMessageFrame) {
        switch side {
        case .client:
            stats.metrics.request(frame.operation)
            switch frame.operation {
            case .bindRequest where logsBinds:
                settings.logger.debug("bind", metadata: ["domain": "\(stats.domain)", "dn": "\(frame.bindDN ?? "?")", "message_id": "\(frame.messageID)"])
            case .abandonRequest:
                if let id = frame.abandonedID { stats.pending[id] = nil }
                return
            case .unbindRequest:
                return
            default:
                break
            }
            if stats.pending.count < LDAPConnectionStats.maxPending { stats.pending[frame.messageID] = .now() }
        case .provider:
            guard frame.operation.isFinalResponse else { return }
            if let started = stats.pending.removeValue(forKey: frame.messageID) {
                stats.metrics.responded(after: .now() - started)
            }
            if let code = frame.resultCode, code != 0 { stats.metrics.result(code) }
        }
    }

    /// Half a message with no progress for the timeout: the client stalled.
    private func armStallTimer(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        stallTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (framer, context) = loopBound.value
            framer.stallTimer = nil
            guard !framer.failed, context.channel.isActive, framer.buffer.readableBytes > 0,
                  let timeout = framer.settings.messageTimeout else { return }
            let due = framer.lastProgress + timeout
            if due > context.eventLoop.now {
                framer.armStallTimer(context, at: due)
                return
            }
            framer.refuse(context, "sent \(framer.buffer.readableBytes) bytes of a message, then nothing for \(timeout.nanoseconds / 1_000_000) ms (--message-timeout)",
                          code: .protocolError)
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ why: String, code: LDAPMessages.ResultCode) {
        failed = true
        buffer = ByteBuffer()
        stallTimer?.cancel()
        stallTimer = nil
        stats.metrics.protocolError()
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        switch side {
        case .client:
            settings.logger.warning("closing an LDAP client: \(why)", metadata: ["domain": "\(stats.domain)", "client": "\(peer)"])
            Farewell.send(LDAPMessages.noticeOfDisconnection(code, why), on: context.channel)
        case .provider:
            settings.logger.error("closing a provider connection that sent an invalid message: \(why)", metadata: [
                "domain": "\(stats.domain)", "provider": "\(stats.provider)"])
            context.close(promise: nil)
        }
    }
}

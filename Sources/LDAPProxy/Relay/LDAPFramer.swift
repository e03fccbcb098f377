import Logging
import Metrics
import Net
import NIOCore

/// One relayed connection's bookkeeping, shared by its two framers (same
/// event loop): requests waiting for their final response, and the metrics.
final class LDAPConnectionStats: @unchecked Sendable {  // used on its channels' loop only
    let domain: String
    let provider: String
    let metrics: LDAPMetrics
    var pending: [Int32: NIODeadline] = [:]

    init(domain: String, provider: String, metrics: LDAPMetrics) {
        self.domain = domain
        self.provider = provider
        self.metrics = metrics
    }
}

/// Frames whole LDAPMessages on one side of a relay and passes them on,
/// unchanged, in one buffer per read: requests from the client, responses
/// from the provider. Bytes that are not LDAP, an indefinite length, or a
/// message over the limit close the connection with a log line (a client
/// first gets a notice of disconnection, `protocolError`).
final class LDAPFramer: ChannelInboundHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    enum Side { case client, provider }

    private let side: Side
    private let stats: LDAPConnectionStats
    private let limit: Int
    private let logger: Logger
    private var buffer = ByteBuffer()
    private var failed = false

    init(side: Side, stats: LDAPConnectionStats, limit: Int, logger: Logger) {
        self.side = side
        self.stats = stats
        self.limit = limit
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var chunk = unwrapInboundIn(data)
        if buffer.readableBytes == 0 { buffer = chunk } else { buffer.writeBuffer(&chunk) }
        let start = buffer.readerIndex
        do {
            while let frame = try LDAPMessageFrame.parse(from: &buffer, limit: limit) { observe(frame) }
        } catch {
            refuse(context, error)
            return
        }
        let complete = buffer.readerIndex - start
        if complete > 0, let messages = buffer.getSlice(at: start, length: complete) {
            context.fireChannelRead(wrapInboundOut(messages))
        }
        if buffer.readableBytes == 0 { buffer.clear() } else if buffer.readerIndex > 64 << 10 { buffer.discardReadBytes() }
    }

    private func observe(_ frame: LDAPMessageFrame) {
        switch side {
        case .client:
            stats.metrics.request(frame.operation)
            if frame.operation == .bindRequest {
                logger.debug("bind", metadata: ["domain": "\(stats.domain)", "dn": "\(frame.bindDN ?? "?")", "message_id": "\(frame.messageID)"])
            }
            if frame.operation != .unbindRequest && frame.operation != .abandonRequest {
                stats.pending[frame.messageID] = .now()
            }
        case .provider:
            guard frame.operation.isFinalResponse else { return }
            if let started = stats.pending.removeValue(forKey: frame.messageID) {
                stats.metrics.responded(after: .now() - started)
            }
            if let code = frame.resultCode, code != 0 { stats.metrics.result(code) }
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ error: any Error) {
        failed = true
        buffer.clear()
        stats.metrics.protocolError()
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        switch side {
        case .client:
            logger.warning("closing an LDAP client that sent an invalid message", metadata: [
                "domain": "\(stats.domain)", "client": "\(peer)", "error": "\(error)"])
            let notice = LDAPMessages.noticeOfDisconnection(.protocolError, "\(error)")
            let channel = context.channel
            context.writeAndFlush(NIOAny(notice)).whenComplete { _ in channel.close(promise: nil) }
        case .provider:
            logger.error("closing a provider connection that sent an invalid message", metadata: [
                "domain": "\(stats.domain)", "provider": "\(stats.provider)", "error": "\(error)"])
            context.close(promise: nil)
        }
    }
}

public import NIOCore

/// One half of a byte relay between two channels on the same event loop.
///
/// Install the two handlers of ``RelayHandler/matchedPair(observer:)`` at the
/// tail of two pipelines (a client's and an upstream's). Bytes read on one
/// side are written to the other, flushed at the end of each read burst.
///
/// - Backpressure: a side only asks its socket to read while the *other* side
///   is writable (below its high write-buffer watermark), so however slow one
///   peer is, the proxy holds at most one watermark plus one read buffer per
///   direction.
/// - Half-close: end of input on one side (with `allowRemoteHalfClosure` set
///   on both channels) shuts the output of the other; once a channel's input
///   and output are both closed, it is closed.
/// - Closes: a side that closes cleanly makes the other deliver what it has
///   queued, then close; an error on one side closes both at once.
///
/// Both channels must share one event loop: the handlers call each other
/// directly, without locks or hops.
public final class RelayHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    /// The context's channel, kept (the partner asks whether it is writable at every read).
    private var channel: (any Channel)?
    private var pendingRead = false
    private var inputClosed = false
    private var outputState = OutputState.open
    private enum OutputState { case open, closing }
    private var bytesIn = 0
    private let observer: (any RelayObserver)?
    private let direction: RelayDirection

    private init(direction: RelayDirection, observer: (any RelayObserver)?) {
        self.direction = direction
        self.observer = observer
    }

    /// Two handlers bound to each other: install `.client` in the accepted
    /// channel and `.upstream` in the upstream channel.
    public static func matchedPair(
        observer: (any RelayObserver)? = nil
    ) -> (client: RelayHandler, upstream: RelayHandler) {
        let client = RelayHandler(direction: .clientToUpstream, observer: observer)
        let upstream = RelayHandler(direction: .upstreamToClient, observer: observer)
        client.partner = upstream
        upstream.partner = client
        return (client, upstream)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.channel = context.channel
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.channel = nil
        self.partner = nil
    }

    // MARK: inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesIn &+= buffer.readableBytes
        partner?.partnerWrite(buffer)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
        if let observer, bytesIn > 0 {
            observer.relayed(bytes: bytesIn, direction: direction)
            bytesIn = 0
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClosed()
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent {
            inputClosed = true
            partner?.partnerShutdownOutput()
            closeIfBothHalvesClosed(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        observer?.relayFailed(error: error, direction: direction)
        partner?.partnerFailed()
        context.close(promise: nil)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: outbound

    public func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: calls from the partner

    private func partnerWrite(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private var partnerWritable: Bool {
        channel?.isWritable ?? false
    }

    private func partnerBecameWritable() {
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    /// The partner's input ended: end our output once queued bytes are out.
    private func partnerShutdownOutput() {
        guard let context, outputState == .open else { return }
        outputState = .closing
        if inputClosed {
            // NIO escalates a half-close of a channel whose input is closed to a
            // full close that drops queued writes: deliver them first.
            closeWhenDrained(context)
            return
        }
        // NIO (and NIOSSL) send queued writes before shutting the output down.
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: promise)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        promise.futureResult.whenFailure { _ in bound.value.close(promise: nil) }
    }

    /// The partner closed cleanly: deliver what is still queued, then close.
    private func partnerClosed() {
        guard let context else { return }
        outputState = .closing
        closeWhenDrained(context)
    }

    /// The partner failed: close now, dropping what is queued.
    private func partnerFailed() {
        context?.close(promise: nil)
    }

    private func closeIfBothHalvesClosed(context: ChannelHandlerContext) {
        if inputClosed && outputState == .closing {
            closeWhenDrained(context)
        }
    }

    /// Closes the channel once the bytes queued in it have reached the
    /// socket. Rare path (a close with data still queued), so it polls the
    /// channel's buffered byte count with a growing interval rather than
    /// attaching a promise to every relayed write.
    private func closeWhenDrained(_ context: ChannelHandlerContext, wait: TimeAmount = .milliseconds(5)) {
        context.flush()
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        guard buffered > 0, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: wait) {
            let (handler, context) = bound.value
            handler.closeWhenDrained(context, wait: min(wait * 2, .milliseconds(200)))
        }
    }
}

/// Which way bytes flow through a relay half.
public enum RelayDirection: Sendable {
    /// Read from the client, written upstream.
    case clientToUpstream
    /// Read from the upstream, written to the client.
    case upstreamToClient
}

/// Receives byte counts (once per read burst) and errors from a relay; used
/// for metrics. Called on the relay's event loop: keep it cheap. A class: the
/// relay holds one reference, not a copy of a struct of counters (a retain and
/// release per counter on every read burst).
public protocol RelayObserver: AnyObject, Sendable {
    /// `bytes` were read on one side and written to the other.
    func relayed(bytes: Int, direction: RelayDirection)
    /// The relay failed on one side and is closing both.
    func relayFailed(error: any Error, direction: RelayDirection)
}

@available(*, unavailable)
extension RelayHandler: Sendable {}

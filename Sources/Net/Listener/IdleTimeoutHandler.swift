public import NIOCore

/// Closes a connection that has neither read nor written for `timeout`
/// (after it, at most a quarter of it later, never sooner: ``IdleWatch``).
public final class IdleTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    public typealias OutboundIn = NIOAny
    private let timeout: TimeAmount
    private var watch: IdleWatch?
    private var timer: Scheduled<Void>?
    private let onTimeout: (@Sendable (any Channel) -> Void)?

    /// - Parameter onTimeout: called (on the channel's loop) before the close, e.g. to log.
    public init(timeout: TimeAmount, onTimeout: (@Sendable (any Channel) -> Void)? = nil) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        watch = IdleWatch(timeout: timeout, now: context.eventLoop.now)
        arm(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        watch?.touch()
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        watch?.touch()
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func arm(context: ChannelHandlerContext) {
        guard let period = watch?.period else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: period) {
            let (handler, context) = loopBound.value
            handler.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if watch?.isIdle(now: context.eventLoop.now) == true {
            onTimeout?(context.channel)
            context.close(promise: nil)
            return
        }
        arm(context: context)
    }
}

@available(*, unavailable)
extension IdleTimeoutHandler: Sendable {}

public import NIOCore

/// Closes a connection that has neither read nor written for `timeout`
/// (after it, at most a quarter of it later, never sooner: ``IdleWatch``).
public final class IdleTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    public typealias OutboundIn = NIOAny
    private var watch: IdleWatch
    private var timer: Scheduled<Void>?
    private let onTimeout: (@Sendable (any Channel) -> Void)?

    /// - Parameter onTimeout: called (on the channel's loop) before the close, e.g. to log.
    public init(timeout: TimeAmount, onTimeout: (@Sendable (any Channel) -> Void)? = nil) {
        self.watch = IdleWatch(timeout: timeout, now: .now())
        self.onTimeout = onTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        watch = IdleWatch(timeout: watch.timeout, now: context.eventLoop.now)
        arm(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        watch.touch()
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        watch.touch()
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func arm(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: watch.period) {
            let (handler, context) = loopBound.value
            handler.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if watch.isIdle(now: context.eventLoop.now) {
            onTimeout?(context.channel)
            context.close(promise: nil)
            return
        }
        arm(context: context)
    }
}

@available(*, unavailable)
extension IdleTimeoutHandler: Sendable {}

public import NIOCore

/// Closes a connection that has neither read nor written for `timeout`.
///
/// One timer per connection, re-armed lazily: activity only stamps a time,
/// the timer checks it when it fires (no timer churn per read).
public final class IdleTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    public typealias OutboundIn = NIOAny
    private let timeout: TimeAmount
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    private var timer: Scheduled<Void>?
    private let onTimeout: (@Sendable (any Channel) -> Void)?

    /// - Parameter onTimeout: called (on the channel's loop) before the close, e.g. to log.
    public init(timeout: TimeAmount, onTimeout: (@Sendable (any Channel) -> Void)? = nil) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = context.eventLoop.now
        arm(context: context, at: lastActivity + timeout)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = context.eventLoop.now
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = context.eventLoop.now
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fire(context: context)
        }
    }

    private func fire(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let due = lastActivity + timeout
        if due > context.eventLoop.now {
            arm(context: context, at: due)
            return
        }
        onTimeout?(context.channel)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension IdleTimeoutHandler: Sendable {}

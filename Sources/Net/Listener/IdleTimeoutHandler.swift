public import NIOCore

/// Closes a connection that has neither read nor written for `timeout`.
///
/// Activity only bumps a counter (no clock read per read or write); one
/// timer per connection looks at it every quarter of the timeout, so an idle
/// connection is closed after `timeout` and at most a quarter of it later,
/// never sooner.
public final class IdleTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    public typealias OutboundIn = NIOAny
    private let timeout: TimeAmount
    private let period: TimeAmount
    /// Reads and writes so far (wrapping), and its value at the last check.
    private var activity: UInt32 = 0
    private var checked: UInt32 = 0
    /// No activity since this time, as far as the checks could see (at or after the last real activity).
    private var quietSince = NIODeadline.uptimeNanoseconds(0)
    private var timer: Scheduled<Void>?
    private let onTimeout: (@Sendable (any Channel) -> Void)?

    /// - Parameter onTimeout: called (on the channel's loop) before the close, e.g. to log.
    public init(timeout: TimeAmount, onTimeout: (@Sendable (any Channel) -> Void)? = nil) {
        self.timeout = timeout
        self.period = .nanoseconds(max(timeout.nanoseconds / 4, 1))
        self.onTimeout = onTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        quietSince = context.eventLoop.now
        arm(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity &+= 1
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        activity &+= 1
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func arm(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: period) {
            let (handler, context) = loopBound.value
            handler.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let now = context.eventLoop.now
        if activity != checked {
            checked = activity
            quietSince = now
        } else if now - quietSince >= timeout {
            onTimeout?(context.channel)
            context.close(promise: nil)
            return
        }
        arm(context: context)
    }
}

@available(*, unavailable)
extension IdleTimeoutHandler: Sendable {}

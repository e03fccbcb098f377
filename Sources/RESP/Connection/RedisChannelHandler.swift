public import NIOCore

/// A batch of encoded commands and one promise per command, written in one go.
public struct RedisRequest: Sendable {
    /// The encoded commands.
    public var bytes: ByteBuffer
    /// One promise per command, in order.
    public var promises: [EventLoopPromise<RESPToken>]
    /// When the replies are overdue (`.distantFuture`: never).
    public var deadline: NIODeadline
    /// Close the connection when the deadline passes: for blocking commands,
    /// whose pop stays armed on the server and would swallow a later item.
    public var closeOnTimeout: Bool

    /// Creates a request.
    public init(bytes: ByteBuffer, promises: [EventLoopPromise<RESPToken>],
                deadline: NIODeadline = .distantFuture, closeOnTimeout: Bool = false) {
        self.bytes = bytes
        self.promises = promises
        self.deadline = deadline
        self.closeOnTimeout = closeOnTimeout
    }
}

/// Matches replies to pipelined commands in order. Sits after a
/// `ByteToMessageHandler(RESPTokenDecoder)`. A protocol error or a closed
/// connection fails every pending command with a typed error.
///
/// Timeouts use one timer, armed for the earliest deadline: an overdue
/// command fails with ``RedisClientError/timeout``; its reply, if it comes
/// later, is read and dropped to keep the order. An overdue blocking
/// command closes the connection.
///
/// Push messages (RESP3 `>`; in subscriber mode also RESP2 `message`
/// arrays) go to `onPush` when set; without it, RESP3 pushes are dropped.
public final class RedisChannelHandler: ChannelDuplexHandler {
    public typealias InboundIn = RESPToken
    public typealias OutboundIn = RedisRequest
    public typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RESPToken>?
        let deadline: NIODeadline
        let closeOnTimeout: Bool
        var timedOut = false
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var failure: RedisClientError?
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private let onPush: (@Sendable (RESPToken) -> Void)?
    private let isPush: @Sendable (RESPToken) -> Bool

    /// Creates the handler. `onPush` receives push messages on the event loop;
    /// `isPush` decides which tokens are pushes (RESP3 `>` by default).
    public init(onPush: (@Sendable (RESPToken) -> Void)? = nil,
                isPush: @escaping @Sendable (RESPToken) -> Bool = { $0.isPush }) {
        self.onPush = onPush
        self.isPush = isPush
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The write promise only says "the handler owns the request": from
        // here on its promises are completed by a reply, a timeout or
        // failAll. A failed write promise therefore means the request never
        // got here (channel already closed) and the caller must fail them.
        let request = unwrapOutboundIn(data)
        if let failure {
            for p in request.promises { p.fail(failure) }
        } else {
            for p in request.promises {
                pending.append(Pending(promise: p, deadline: request.deadline, closeOnTimeout: request.closeOnTimeout))
            }
            if request.deadline < timerDeadline, !request.promises.isEmpty { arm(request.deadline, context: context) }
            context.write(wrapOutboundOut(request.bytes), promise: nil)
        }
        promise?.succeed()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let token = unwrapInboundIn(data)
        if isPush(token) {
            onPush?(token)
            return
        }
        guard let next = pending.popFirst() else {
            failAll(.unexpectedReply, context: context)
            return
        }
        next.promise?.succeed(token)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll((error as? RESPParsingError).map { .protocolError($0) } ?? .connectionClosed, context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connectionClosed, context: nil)
        context.fireChannelInactive()
    }

    private func arm(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        timerDeadline = deadline
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.expire(context: context)
        }
    }

    /// Fails every overdue command, then re-arms for the next deadline.
    private func expire(context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = .distantFuture
        let now = NIODeadline.now()
        var next = NIODeadline.distantFuture
        var close = false
        for i in pending.indices {
            guard let promise = pending[i].promise else { continue }
            if pending[i].deadline <= now {
                if pending[i].closeOnTimeout {
                    // Failed once the socket is closed (failAll), so the caller
                    // cannot race a push against the pop still armed on it.
                    pending[i].timedOut = true
                    close = true
                } else {
                    promise.fail(RedisClientError.timeout)
                    pending[i].promise = nil
                }
            } else if pending[i].deadline < next {
                next = pending[i].deadline
            }
        }
        if close {
            context.close(promise: nil)
        } else if next != .distantFuture {
            arm(next, context: context)
        }
    }

    private func failAll(_ error: RedisClientError, context: ChannelHandlerContext?) {
        if failure == nil { failure = error }
        timer?.cancel()
        timer = nil
        timerDeadline = .distantFuture
        while let p = pending.popFirst() { p.promise?.fail(p.timedOut ? RedisClientError.timeout : error) }
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}

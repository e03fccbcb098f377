public import NIOCore

/// The replies of a batch sent with one promise: every token received, in
/// order, and the error that cut the batch short (then `tokens` holds fewer
/// replies than commands were sent).
public struct RedisBatchReplies: Sendable {
    public var tokens: [RESPToken]
    public var error: RedisClientError?
}

/// A batch of encoded commands, written in one go, with one promise per
/// command or one promise for the whole batch.
public struct RedisRequest: Sendable {
    /// The encoded commands.
    public var bytes: ByteBuffer
    /// One promise per command, in order (empty for a batch request).
    public var promises: [EventLoopPromise<RESPToken>]
    /// For a batch request: how many replies, and the one promise for all.
    public var batch: (count: Int, promise: EventLoopPromise<RedisBatchReplies>)?
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
        self.batch = nil
    }

    /// Creates a batch request: `count` replies complete one promise, with
    /// no allocation per command (the pipelined hot path).
    public init(bytes: ByteBuffer, count: Int, promise: EventLoopPromise<RedisBatchReplies>,
                deadline: NIODeadline = .distantFuture) {
        self.bytes = bytes
        self.promises = []
        self.batch = (count, promise)
        self.deadline = deadline
        self.closeOnTimeout = false
    }
}

/// Collects a batch's replies on the event loop.
final class BatchCollector {
    let promise: EventLoopPromise<RedisBatchReplies>
    let count: Int
    var tokens: [RESPToken] = []
    var done = false

    init(promise: EventLoopPromise<RedisBatchReplies>, count: Int) {
        self.promise = promise
        self.count = count
        tokens.reserveCapacity(count)
    }

    func add(_ token: RESPToken) {
        guard !done else { return }
        tokens.append(token)
        if tokens.count == count { finish(nil) }
    }

    func finish(_ error: RedisClientError?) {
        guard !done else { return }
        done = true
        promise.succeed(RedisBatchReplies(tokens: tokens, error: error))
    }
}

/// Frames replies with ``RESPTokenDecoder`` and matches them to pipelined
/// commands in order. It decodes the bytes itself (rather than behind a
/// `ByteToMessageHandler`) so that no reply is boxed in an `NIOAny` on the
/// way. A protocol error or a closed connection fails every pending
/// command with a typed error.
///
/// Timeouts use one timer, armed for the earliest deadline: an overdue
/// command fails with ``RedisClientError/timeout``; its reply, if it comes
/// later, is read and dropped to keep the order. An overdue blocking
/// command closes the connection.
///
/// Push messages (RESP3 `>`; in subscriber mode also RESP2 `message`
/// arrays) go to `onPush` when set; without it, RESP3 pushes are dropped.
public final class RedisChannelHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = RedisRequest
    public typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RESPToken>?
        var batch: BatchCollector?
        let deadline: NIODeadline
        let closeOnTimeout: Bool
        var timedOut = false

        var isLive: Bool { promise != nil || (batch.map { !$0.done } ?? false) }

        func fail(_ error: RedisClientError) {
            promise?.fail(error)
            batch?.finish(error)
        }
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var decoder: RESPTokenDecoder
    /// Bytes received and not yet framed into a reply.
    private var received: ByteBuffer?
    private var failure: RedisClientError?
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private let onPush: (@Sendable (RESPToken) -> Void)?
    private let isPush: @Sendable (RESPToken) -> Bool

    /// Creates the handler. `limits` bound every reply; `onPush` receives
    /// push messages on the event loop; `isPush` decides which tokens are
    /// pushes (RESP3 `>` by default).
    public init(limits: RESPLimits = .init(), onPush: (@Sendable (RESPToken) -> Void)? = nil,
                isPush: @escaping @Sendable (RESPToken) -> Bool = { $0.isPush }) {
        self.decoder = RESPTokenDecoder(limits: limits)
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
            request.batch?.promise.succeed(RedisBatchReplies(tokens: [], error: failure))
        } else {
            for p in request.promises {
                pending.append(Pending(promise: p, deadline: request.deadline, closeOnTimeout: request.closeOnTimeout))
            }
            if let (count, promise) = request.batch {
                let collector = BatchCollector(promise: promise, count: count)
                for _ in 0..<count {
                    pending.append(Pending(batch: collector, deadline: request.deadline, closeOnTimeout: false))
                }
                if count == 0 { collector.finish(nil) }
            }
            let expecting = !request.promises.isEmpty || (request.batch?.count ?? 0) > 0
            if request.deadline < timerDeadline, expecting { arm(request.deadline, context: context) }
            context.write(wrapOutboundOut(request.bytes), promise: nil)
        }
        promise?.succeed()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeImmutableBuffer(bytes)
        }
        // Completing a promise may run callbacks that close the channel:
        // stop framing as soon as the connection has failed.
        while failure == nil, var buffer = received {
            received = nil  // keep the buffer uniquely referenced while decoding
            let token: RESPToken?
            do {
                token = try decoder.decode(buffer: &buffer)
            } catch let error as RESPParsingError {
                failAll(.protocolError(error), context: context)
                return
            } catch {
                failAll(.connectionClosed, context: context)
                return
            }
            if buffer.readableBytes > 0 {
                if buffer.readerIndex > 64 << 10 && buffer.readerIndex > buffer.capacity / 2 { buffer.discardReadBytes() }
                received = buffer
            }
            guard let token else { return }
            handle(token, context: context)
        }
    }

    private func handle(_ token: RESPToken, context: ChannelHandlerContext) {
        if isPush(token) {
            onPush?(token)
            return
        }
        guard let next = pending.popFirst() else {
            failAll(.unexpectedReply, context: context)
            return
        }
        if let batch = next.batch { batch.add(token) } else { next.promise?.succeed(token) }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(.connectionClosed, context: context)
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
            guard pending[i].isLive else { continue }
            if pending[i].deadline <= now {
                if pending[i].closeOnTimeout {
                    // Failed once the socket is closed (failAll), so the caller
                    // cannot race a push against the pop still armed on it.
                    pending[i].timedOut = true
                    close = true
                } else {
                    // Its reply, when it comes, is read and dropped.
                    pending[i].fail(.timeout)
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
        while let p = pending.popFirst() { p.fail(p.timedOut ? .timeout : error) }
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}

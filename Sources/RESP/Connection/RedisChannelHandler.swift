public import NIOCore

/// A batch of encoded commands and one promise per command, written in one go.
public struct RedisRequest: Sendable {
    /// The encoded commands.
    public var bytes: ByteBuffer
    /// One promise per command, in order.
    public var promises: [EventLoopPromise<RESPToken>]

    /// Creates a request.
    public init(bytes: ByteBuffer, promises: [EventLoopPromise<RESPToken>]) {
        self.bytes = bytes
        self.promises = promises
    }
}

/// Matches replies to pipelined commands in order. Sits after a
/// `ByteToMessageHandler(RESPTokenDecoder)`. A protocol error or a closed
/// connection fails every pending command with a typed error.
public final class RedisChannelHandler: ChannelDuplexHandler {
    public typealias InboundIn = RESPToken
    public typealias OutboundIn = RedisRequest
    public typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<EventLoopPromise<RESPToken>>(initialCapacity: 16)
    private var failure: RedisClientError?

    /// Creates the handler.
    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The write promise only says "the handler owns the request": from
        // here on its promises are completed by a reply or by failAll. A
        // failed write promise therefore means the request never got here
        // (channel already closed) and the caller must fail them itself.
        let request = unwrapOutboundIn(data)
        if let failure {
            for p in request.promises { p.fail(failure) }
        } else {
            pending.append(contentsOf: request.promises)
            context.write(wrapOutboundOut(request.bytes), promise: nil)
        }
        promise?.succeed()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let token = unwrapInboundIn(data)
        guard let promise = pending.popFirst() else {
            // A reply nobody asked for (push messages belong to a subscription connection).
            failAll(.protocolError(RESPParsingError(.unknownType(token.base.getInteger(at: token.base.readerIndex) ?? 0), at: 0)),
                    context: context)
            return
        }
        promise.succeed(token)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError: RedisClientError
        if let parsing = error as? RESPParsingError {
            redisError = .protocolError(parsing)
        } else if let decoderError = error as? ByteToMessageDecoderError,
                  case .leftoverDataWhenDone = decoderError {
            redisError = .connectionClosed
        } else {
            redisError = .connectionClosed
        }
        failAll(redisError, context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connectionClosed, context: nil)
        context.fireChannelInactive()
    }

    private func failAll(_ error: RedisClientError, context: ChannelHandlerContext?) {
        if failure == nil { failure = error }
        while let p = pending.popFirst() { p.fail(error) }
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}

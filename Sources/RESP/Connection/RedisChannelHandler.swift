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
        guard let promise = pending.popFirst() else {
            // Push messages belong on a subscription connection, not here.
            failAll(.unexpectedReply, context: context)
            return
        }
        promise.succeed(unwrapInboundIn(data))
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll((error as? RESPParsingError).map { .protocolError($0) } ?? .connectionClosed, context: context)
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

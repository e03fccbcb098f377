import NIOCore

/// Collects what a child writes on a pipe, up to a limit, optionally
/// passing each chunk on as it arrives; completes at end of input.
final class PipeCollector: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's loop only
    typealias InboundIn = ByteBuffer

    /// The bytes, and whether more arrived than the limit kept.
    struct Collected: Sendable {
        var bytes: ByteBuffer
        var truncated: Bool
    }

    private var buffer: ByteBuffer
    private var truncated = false
    private let limit: Int
    private let onChunk: (@Sendable (ByteBuffer) -> Void)?
    let done: EventLoopPromise<Collected>

    init(limit: Int, eventLoop: any EventLoop, onChunk: (@Sendable (ByteBuffer) -> Void)?) {
        self.limit = limit
        self.onChunk = onChunk
        buffer = ByteBuffer()
        done = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        onChunk?(chunk)
        let room = limit - buffer.readableBytes
        if chunk.readableBytes > room {
            truncated = true
            if room > 0, let part = chunk.readSlice(length: room) { buffer.writeImmutableBuffer(part) }
        } else {
            buffer.writeBuffer(&chunk)
        }
    }

    private var finished = false

    func channelInactive(context: ChannelHandlerContext) {
        finish()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    /// Completes with what was read (call on the event loop).
    func finish() {
        guard !finished else { return }
        finished = true
        done.succeed(Collected(bytes: buffer, truncated: truncated))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Splits what arrives on the command pipe into lines (LF; the CR of CRLF
/// is left for the parser) and hands each to `onLine`; overlong lines are
/// cut at `maxLine` bytes.
final class LineSplitter: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's loop only
    typealias InboundIn = ByteBuffer

    private var pending: [UInt8] = []
    private let maxLine: Int
    private let onLine: @Sendable (String) -> Void
    let done: EventLoopPromise<Void>

    init(maxLine: Int = 64 << 10, eventLoop: any EventLoop, onLine: @escaping @Sendable (String) -> Void) {
        self.maxLine = maxLine
        self.onLine = onLine
        done = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        for byte in chunk.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                onLine(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else if pending.count < maxLine {
                pending.append(byte)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private var finished = false

    /// Hands on the last partial line and completes (call on the event loop).
    func finish() {
        guard !finished else { return }
        finished = true
        if !pending.isEmpty {
            onLine(String(decoding: pending, as: UTF8.self))
            pending.removeAll()
        }
        done.succeed(())
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

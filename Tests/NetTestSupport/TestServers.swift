import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A NIO server on 127.0.0.1 with a port chosen by the kernel, for tests.
public final class TestServer: Sendable {
    public let channel: any Channel
    public var port: Int { channel.localAddress!.port! }

    /// Starts a server; `makeHandlers` builds each connection's handlers.
    public init(
        group: any EventLoopGroup,
        tls: NIOSSLContext? = nil,
        makeHandlers: @escaping @Sendable () -> [any ChannelHandler & Sendable]
    ) async throws {
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    for h in makeHandlers() { try channel.pipeline.syncOperations.addHandler(h) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    public func close() async { try? await channel.close() }
}

/// Writes back every byte it reads; on end of input, finishes writing and closes its output.
public final class EchoHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer
    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            // NIO turns a half-close after end of input into a full close that
            // drops queued writes: close once the echo has been written.
            let empty = context.channel.allocator.buffer(capacity: 0)
            context.writeAndFlush(NIOAny(empty)).whenComplete { [context] _ in context.close(promise: nil) }
        }
    }
}

/// Reads until end of input, then answers `"<count> <fnv1a hex>\n"` and closes.
public final class DigestOnEOFHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer
    private var checksum = Checksum()
    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        checksum.update(unwrapInboundIn(data))
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .some(.inputClosed) = event as? ChannelEvent else { return }
        let reply = context.channel.allocator.buffer(string: "\(checksum.count) \(String(checksum.value, radix: 16))\n")
        context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { [context] _ in
            context.close(promise: nil)
        }
    }
}

extension DigestOnEOFHandler: @unchecked Sendable {}  // used on its channel's loop only

/// On connect, sends a ``Pattern`` as fast as the peer reads it (respecting
/// writability), optionally in slices paced by `interval`, then closes.
/// Counts what it managed to hand to the kernel.
public final class SourceHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer
    private let pattern: Pattern
    private let chunk: Int
    private let interval: TimeAmount?
    private var offset = 0
    private let progress: SourceProgress

    public init(pattern: Pattern, chunk: Int = 64 << 10, interval: TimeAmount? = nil, progress: SourceProgress) {
        self.pattern = pattern
        self.chunk = chunk
        self.interval = interval
        self.progress = progress
    }

    public func channelActive(context: ChannelHandlerContext) {
        pump(context: context)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context: context) }
    }

    private func pump(context: ChannelHandlerContext) {
        while context.channel.isWritable && offset < pattern.length {
            let end = min(pattern.length, offset + chunk)
            let buffer = pattern.chunk(offset..<end, allocator: context.channel.allocator)
            let n = end - offset
            offset = end
            context.writeAndFlush(wrapOutboundOut(buffer)).whenSuccess { [progress] in progress.add(n) }
            if let interval, offset < pattern.length {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: interval) {
                    let (h, ctx) = bound.value
                    h.pump(context: ctx)
                }
                return
            }
        }
        if offset >= pattern.length {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { [context] _ in
                context.close(promise: nil)
            }
        }
    }
}

extension SourceHandler: @unchecked Sendable {}  // used on its channel's loop only

/// Bytes a ``SourceHandler`` has written so far, readable from tests.
public final class SourceProgress: Sendable {
    private let written = Atomic<Int>(0)
    public init() {}
    func add(_ n: Int) { written.add(n, ordering: .relaxed) }
    public var bytesWritten: Int { written.load(ordering: .relaxed) }
}

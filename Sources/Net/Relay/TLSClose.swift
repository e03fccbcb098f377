public import NIOCore

/// Closing a TLS connection sends close_notify and then waits for the peer's
/// until the TLS handler's shutdown timeout (NIOSSL: 5 s). Most peers answer
/// a close_notify by just closing their socket: the input ends and nothing
/// is left to wait for, yet the socket would stay open (CLOSE_WAIT) until the
/// timeout — thousands of them under a stream of `Connection: close`
/// requests. ``close(_:peerInputClosed:)`` puts a handler in front of the TLS
/// handler that closes the socket as soon as the input ends.
public enum TLSClose {
    /// How long a TLS close waits for the peer's close_notify (NIOSSL's default: 5 s). Most peers
    /// answer ours by closing without one, and NIOSSL does not cancel this timer when the channel
    /// closes under it: the closed connection (TLS state, buffers, pipeline) stays in memory until it
    /// fires — with 5 s, ~110 MB more RSS for the edge after 12 s of ~1,000 new connections a second.
    public static let shutdownTimeout: TimeAmount = .milliseconds(500)

    /// Closes the connection of `context` (a handler behind the TLS handler) through TLS: close_notify
    /// is written, and the socket is closed once the peer's input ends. When it already has
    /// (`peerInputClosed`: the peer is gone) the socket is closed at once, from in front of the TLS
    /// handler: no close_notify for nobody, and no TLS shutdown timer left armed (NIOSSL does not
    /// cancel it when the channel closes under it, and it holds the whole closed connection in memory
    /// until it fires). Call on the channel's event loop.
    public static func close(_ context: ChannelHandlerContext, peerInputClosed: Bool = false) {
        let pipeline = context.pipeline.syncOperations
        let shortcut: CloseAtEndOfInput
        if let present = try? pipeline.handler(type: CloseAtEndOfInput.self) {
            shortcut = present
        } else {
            shortcut = CloseAtEndOfInput()
            guard (try? pipeline.addHandler(shortcut, position: .first)) != nil else { return context.close(promise: nil) }
        }
        if peerInputClosed { return shortcut.closeNow() }
        context.close(promise: nil)
    }
}

/// Closes its channel from the front of the pipeline (below TLS) when the input ends.
final class CloseAtEndOfInput: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func closeNow() { context?.close(promise: nil) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { return context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension CloseAtEndOfInput: Sendable {}

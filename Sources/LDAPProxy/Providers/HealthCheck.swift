import NIOCore

/// One health check: on a connected provider channel, read the root DSE
/// anonymously (base search, `namingContexts`) and expect `success`.
final class RootDSEProbe: ChannelInboundHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<Void>
    private var buffer = ByteBuffer()
    private var finished = false

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(LDAPMessages.rootDSESearch(id: 1)), promise: nil)
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        do {
            while let frame = try LDAPMessageFrame.parse(from: &buffer, limit: 1 << 20) {
                if frame.operation == .searchResultDone {
                    finish(frame.resultCode == 0 ? .success(()) : .failure(ProbeFailed(reason: "root DSE search answered result code \(frame.resultCode ?? -1)")))
                    context.close(promise: nil)
                    return
                }
            }
            context.read()
        } catch {
            finish(.failure(ProbeFailed(reason: "\(error)")))
            context.close(promise: nil)
        }
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ProbeFailed(reason: "the provider closed the connection before answering")))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(ProbeFailed(reason: "\(error)")))
        context.close(promise: nil)
    }
}

/// A health check that did not pass.
struct ProbeFailed: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

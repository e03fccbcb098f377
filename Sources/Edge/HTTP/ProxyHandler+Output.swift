import NIOCore

/// What ``ProxyHandler`` sends the client: small pieces gathered into one
/// write, flushes only when something was written, the end of a response
/// (keep-alive or close), and pausing or resuming the client's reads.
extension ProxyHandler {
    /// A response head passed on to the client (gathered with what follows).
    func write(_ head: MessageHead, _ rules: HopByHop, extra: StaticString?, _ context: ChannelHandlerContext) {
        startGathering()
        HeadWriter.response(head, rules: rules, extra: extra, into: &gathered)
        clientUnflushed = true
        idleWatch?.touch()
    }

    /// Writes to the client. Small pieces are gathered in one buffer per connection (a response
    /// head and a small body become one TLS record and one write), larger ones go as they are;
    /// everything is flushed at the end of the backend's read or of the response.
    func sendToClient(_ bytes: ByteBuffer, _ context: ChannelHandlerContext) {
        if bytes.readableBytes <= Self.gatherLimit {
            startGathering()
            var more = bytes
            gathered.writeBuffer(&more)
        } else {
            writeGathered(context)
            context.write(wrapOutboundOut(bytes), promise: nil)
        }
        clientUnflushed = true
        idleWatch?.touch()
    }

    /// Pieces up to this size are copied into the gathered buffer.
    static var gatherLimit: Int { 4096 }

    private func startGathering() {
        guard !gathering else { return }
        // Written out at the last flush, so nothing else holds it now: no allocation.
        gathered.clear()
        gathering = true
    }

    /// Passes what was gathered on to the channel (before a larger write, a flush or a close).
    func writeGathered(_ context: ChannelHandlerContext) {
        guard gathering else { return }
        gathering = false
        context.write(wrapOutboundOut(gathered), promise: nil)
    }

    func flushClient(_ context: ChannelHandlerContext) {
        writeGathered(context)
        clientUnflushed = false
        context.flush()
    }

    /// The response is written: the next request (keep-alive) or the close once it is flushed.
    func endResponse(_ context: ChannelHandlerContext, now: NIODeadline = .now()) {
        if keepAlive {
            flushClient(context)
            awaitNextHead(context, now: now)
        } else {
            writeGathered(context)
            closeWhenWritten(context)
        }
        responseDone(context)
    }

    /// Closes the client connection once everything written to it so far has gone out.
    func closeWhenWritten(_ context: ChannelHandlerContext) {
        clientUnflushed = false
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { [self] _ in
            if let context = self.context { closeClient(context) } else { channel.close(promise: nil) }
        }
    }

    func backendReadComplete() {
        guard clientUnflushed, let context else { return }
        flushClient(context)
    }

    /// Pauses or resumes reading the client. An HTTP/2 stream channel does not read again by itself
    /// when autoRead is turned back on (a socket channel does): hence the explicit read.
    func setClientReading(_ on: Bool, _ context: ChannelHandlerContext) {
        guard on != clientReading else { return }
        clientReading = on
        if let options = context.channel.syncOptions { try? options.setOption(ChannelOptions.autoRead, value: on) } else {
            context.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
        }
        if on { context.read() }
    }
}

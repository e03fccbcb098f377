import Net
import NIOCore
import NIOHTTP1

/// One HTTP/2 stream (after NIOHTTP2's `HTTP2FramePayloadToHTTP1ServerCodec`)
/// as HTTP/1.1 bytes for ``ProxyHandler``: the request is written out as a
/// head (Content-Length kept, else a body is sent chunked), and the response
/// bytes are parsed back into a head, data and the end (chunked framing,
/// hop-by-hop fields and interim 1xx answers left out).
final class HTTP2StreamBridge: ChannelDuplexHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTPServerResponsePart

    /// A request head without Content-Length, held until its first body part or its end says which framing it needs.
    private var pendingHead: HTTPRequestHead?
    private var chunked = false
    private var requestIsHead = false
    private var parser: HeadParser
    private let maxHeadBytes: Int
    private var response = ByteBuffer()
    private var body: BodyReader?
    /// Write promises with nothing written yet: completed at the next flush.
    private var waiting: [EventLoopPromise<Void>] = []

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
        parser = HeadParser(.response, maxBytes: maxHeadBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestIsHead = head.method == .HEAD
            if head.headers["content-length"].isEmpty { pendingHead = head } else { emit(head, chunked: false, context) }
        case .body(var bytes):
            if let head = pendingHead {
                pendingHead = nil
                chunked = true
                emit(head, chunked: true, context)
            }
            guard chunked else { return context.fireChannelRead(wrapInboundOut(bytes)) }
            var out = context.channel.allocator.buffer(capacity: bytes.readableBytes + 16)
            out.writeString(String(bytes.readableBytes, radix: 16))
            out.writeStaticString("\r\n")
            out.writeBuffer(&bytes)
            out.writeStaticString("\r\n")
            context.fireChannelRead(wrapInboundOut(out))
        case .end:
            if let head = pendingHead {
                pendingHead = nil
                emit(head, chunked: false, context)
            } else if chunked {
                context.fireChannelRead(wrapInboundOut(ByteBuffer(staticString: "0\r\n\r\n")))
            }
            chunked = false
        }
    }

    private func emit(_ head: HTTPRequestHead, chunked: Bool, _ context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 512)
        out.writeString("\(head.method.rawValue) \(head.uri) HTTP/1.1\r\n")
        // NIOHTTP2's codec marks a request without content-length "transfer-encoding: chunked" itself;
        // the framing here is decided from the stream (no body: none at all), so that field is left out.
        for (name, value) in head.headers where name.lowercased() != "transfer-encoding" { out.writeString("\(name): \(value)\r\n") }
        if chunked { out.writeStaticString("transfer-encoding: chunked\r\n") }
        out.writeStaticString("\r\n")
        context.fireChannelRead(wrapInboundOut(out))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        response.appendPending(unwrapOutboundIn(data))
        defer { response.releaseIfDrained() }
        var parts: [HTTPServerResponsePart] = []
        do {
            while response.readableBytes > 0 || body?.isDone == true {
                guard var reader = body else {
                    guard let head = try parser.parse(&response) else { break }
                    if head.statusCode < 200 { continue }
                    let framing = try head.responseFraming(toHead: requestIsHead)
                    parts.append(.head(responseHead(head, chunked: framing == .chunked)))
                    body = BodyReader(framing)
                    continue
                }
                guard let part = try nextPart(&reader) else { break }
                body = reader
                parts.append(part)
                if case .end = part {
                    parser.reset()
                    body = nil
                }
            }
        } catch {
            promise?.fail(error)
            return context.close(promise: nil)
        }
        guard let last = parts.popLast() else {
            if let promise { waiting.append(promise) }
            return
        }
        for part in parts { context.write(wrapOutboundOut(part), promise: nil) }
        context.write(wrapOutboundOut(last), promise: promise)
    }

    /// The next data or the end from the buffered response body; nil when it needs more bytes.
    private func nextPart(_ reader: inout BodyReader) throws(HTTPWireError) -> HTTPServerResponsePart? {
        while true {
            switch try reader.next(in: response, at: 0) {
            case .data(let n): return .body(.byteBuffer(response.readSlice(length: n)!))
            case .framing(let n): response.moveReaderIndex(forwardBy: n)
            case .done: return .end(nil)
            case .needMore: return nil
            }
        }
    }

    private func responseHead(_ head: MessageHead, chunked: Bool) -> HTTPResponseHead {
        var rules = HopByHop(head)
        rules.keepTransferEncoding = false
        rules.dropContentLength = chunked
        var headers = HTTPHeaders()
        for field in head.fields where !rules.drops(field, of: head) { headers.add(name: head.string(field.name), value: head.string(field.value)) }
        return HTTPResponseHead(version: .http2, status: HTTPResponseStatus(statusCode: head.statusCode), headers: headers)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        let done = waiting
        waiting = []
        for promise in done { promise.succeed() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Promises of bytes that never became a part (the stream ended first) must not leak.
        let left = waiting
        waiting = []
        for promise in left { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // A body delimited by the close (the backend's) ends the stream properly, not with a reset.
        if body?.endsWithConnection == true {
            body = nil
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(mode: mode, promise: promise)
    }
}

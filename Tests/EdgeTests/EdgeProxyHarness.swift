import Edge
import Foundation
import Logging
import Net
import NetTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

/// The edge under test and its backends get loops of their own: on the process-wide singleton they
/// would wait behind other suites' bulk transfers (a full parallel run slowed a 64 MiB upload to 6 MB/s).
let edgeTestLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)

/// A real HTTP/1.1 backend: `/slow` never answers; `/big?n=N` streams N bytes;
/// anything else answers with the request line, headers and the body's byte count.
final class Backend: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init() async throws {
        channel = try await ServerBootstrap(group: edgeTestLoops)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(Handler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        var head: HTTPRequestHead?
        var bytes = 0
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h; bytes = 0
            case .body(let b): bytes += b.readableBytes
            case .end:
                guard let head else { return }
                if head.uri == "/slow" { return }
                if head.uri.hasPrefix("/big?n="), let n = Int(head.uri.dropFirst(7)) {
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "\(n)"]))), promise: nil)
                    var left = n
                    let chunk = ByteBuffer(repeating: 0x61, count: 65536)
                    while left > 0 {
                        context.write(wrapOutboundOut(.body(.byteBuffer(chunk.getSlice(at: 0, length: min(left, 65536))!))), promise: nil)
                        left -= 65536
                    }
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                    return
                }
                if head.uri == "/cut" {
                    // Promises 1000 bytes, sends 10, vanishes.
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "1000"]))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "0123456789")))), promise: nil)
                    context.close(promise: nil)
                    return
                }
                if head.uri == "/close-soon" {
                    // Answers keep-alive, then closes the idle connection, as a backend's idle timeout does.
                    let channel = context.channel
                    context.eventLoop.scheduleTask(in: .milliseconds(50)) { channel.close(promise: nil) }
                }
                let text = "\(head.method) \(head.uri)\npeer: \(context.channel.remoteAddress?.port ?? 0)\n" + head.headers.map { "\($0.name.lowercased()): \($0.value)" }.joined(separator: "\n") + "\nbody-bytes: \(bytes)\n"
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": "text/plain"]))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// Holds an object without keeping it alive.
final class WeakBox: @unchecked Sendable {  // set and read from one test task
    weak var value: AnyObject?
}

/// A backend that answers every read with the same bytes (then closes, when asked): responses NIO would not make.
final class RawBackend: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(reply: String, close: Bool) async throws {
        channel = try await ServerBootstrap(group: edgeTestLoops)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Handler(reply: reply, close: close)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let reply: String, close: Bool
        init(reply: String, close: Bool) { self.reply = reply; self.close = close }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let done = context.writeAndFlush(NIOAny(ByteBuffer(string: reply)))
            if close { let channel = context.channel; done.whenComplete { _ in channel.close(promise: nil) } }
        }
    }
}

func curl(_ args: [String]) async throws -> (status: Int32, output: String) {
    try await runCommandOffPool("/usr/bin/curl", ["-sS", "--max-time", "10"] + args)
}

/// Runs `body` against an edge listener (plain HTTP, or HTTPS with `tls`) routing `routes` (`BACKEND` is the
/// test backend's address) on ``edgeTestLoops``; drains the listener and closes the backend afterwards.
/// - Parameter tls: the HTTPS listener (self-signed `localhost`, ALPN h2 and http/1.1) instead of plain HTTP.
/// - Parameter logger: the edge's logger (its access log is this logger with `log=access`).
func withEdge(_ routes: [[String: String]], responseTimeout: TimeAmount = .seconds(60), headTimeout: TimeAmount = .seconds(30),
              idleTimeout: TimeAmount = .seconds(120), tls: Bool = false, logger: Logger = Logger(label: "test.edge"),
              listening: (Listener) -> Void = { _ in }, routes shared: (SharedRoutes) -> Void = { _ in },
              _ body: (Int, Backend) async throws -> Void) async throws {
    let backend = try await Backend()
    let table = SharedRoutes(RouteTable(try routes.map { r in
        try Route(fields: r.mapValues { $0.replacingOccurrences(of: "BACKEND", with: "127.0.0.1:\(backend.port)") })
    }))
    shared(table)
    var settings = ProxySettings(routes: table, tls: tls, logger: logger)
    settings.responseTimeout = responseTimeout
    settings.headTimeout = headTimeout
    settings.idleTimeout = idleTimeout
    let address = ListenAddress.bind(try Endpoint(parsing: "127.0.0.1:0"))
    let listener: Listener
    if tls {
        let store = CertificateStore()
        try store.replace(with: [], default: try SelfSigned.make(names: ["localhost"]))
        listener = try await EdgeListeners.startHTTPS(address, store: store, settings: settings, group: edgeTestLoops,
                                                      logger: logger)
    } else {
        listener = try await EdgeListeners.startHTTP(address, settings: settings, group: edgeTestLoops, logger: logger)
    }
    let port = listener.localAddress!.port!
    listening(listener)
    do { try await body(port, backend) } catch { await listener.drain(deadline: .milliseconds(200)); await backend.close(); throw error }
    await listener.drain(deadline: .milliseconds(200))
    await backend.close()
}

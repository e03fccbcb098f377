import FoundationEssentials
import JSON
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One answer of the ACME server, read whole (ACME messages are small).
struct ACMEResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    func header(_ name: String) -> String? { headers[name].first }
    var json: JSONValue? { try? JSONValue.parse(String(decoding: body, as: UTF8.self)) }
    /// `Retry-After` in seconds (RFC 9110: delay-seconds; HTTP dates are taken as 1 s).
    var retryAfter: Int? { header("retry-after").map { Int($0.filter { $0 != " " }) ?? 1 } }
}

/// A minimal HTTPS client for the ACME server: one connection per request,
/// system CAs plus an optional extra CA file, a deadline on every request,
/// answers over 1 MiB refused.
struct ACMEHTTPClient: Sendable {
    let group: any EventLoopGroup
    let tls: NIOSSLContext
    var timeout: TimeAmount = .seconds(30)
    static let maxBody = 1 << 20

    /// - Parameter caFile: a PEM bundle trusted besides the system CAs (a test CA such as pebble's).
    init(group: any EventLoopGroup, caFile: String?) throws(ACMEError) {
        self.group = group
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        do { tls = try NIOSSLContext(configuration: configuration) } catch { throw .configuration("cannot set up TLS to the ACME server with --acme-ca-file \(caFile ?? "(none)"): \(error)") }
    }

    func send(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, contentType: String? = nil,
              accept: String = "application/json") async throws(ACMEError) -> ACMEResponse {
        guard let parsed = URL(string: url), let host = parsed.host, parsed.scheme == "https" else {
            throw .badResponse(url: url, reason: "not an https:// URL")
        }
        let port = parsed.port ?? 443
        var path = parsed.path.isEmpty ? "/" : parsed.path
        if let query = parsed.query { path += "?" + query }
        var headers = HTTPHeaders([("host", parsed.port.map { "\(host):\($0)" } ?? host), ("user-agent", "nscore-edge"),
                                   ("accept", accept), ("connection", "close")])
        if let body {
            headers.add(name: "content-length", value: String(body.count))
            if let contentType { headers.add(name: "content-type", value: contentType) }
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        let loop = group.next()
        let promise = loop.makePromise(of: ACMEResponse.self)
        let tls = self.tls
        let isIP = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        let timer = loop.scheduleTask(in: timeout) { promise.fail(ACMEError.unreachable(url: url, reason: "no answer within \(timeout.nanoseconds / 1_000_000_000) s")) }
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, url: url))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .failure(let error): promise.fail(ACMEError.unreachable(url: url, reason: "\(error)"))
                case .success(let channel):
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        do {
            let response = try await promise.futureResult.get()
            timer.cancel()
            return response
        } catch let error as ACMEError {
            throw error
        } catch {
            throw .unreachable(url: url, reason: "\(error)")
        }
    }
}

/// Collects one response; fails the promise on a closed connection or an oversized body.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<ACMEResponse>
    private let url: String
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<ACMEResponse>, url: String) {
        self.promise = promise
        self.url = url
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body(let b):
            body += b.readableBytesView
            if body.count > ACMEHTTPClient.maxBody {
                promise.fail(ACMEError.badResponse(url: url, reason: "answer larger than 1 MiB"))
                context.close(promise: nil)
            }
        case .end:
            guard let head else { return }
            promise.succeed(ACMEResponse(status: Int(head.status.code), headers: head.headers, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(ACMEError.unreachable(url: url, reason: "\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ACMEError.unreachable(url: url, reason: "connection closed before a whole answer"))
        context.fireChannelInactive()
    }
}

import Edge
import Foundation
import NetTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// A TLS echo server on a free loopback port whose certificates come from `store`.
private final class TLSEchoServer: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(store: CertificateStore) async throws {
        let context = try NIOSSLContext(configuration: try store.serverConfiguration())
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try child.pipeline.syncOperations.addHandler(Echo())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }
}

/// The subject CN and protocol openssl s_client negotiated for `serverName` (nil: no SNI).
private func handshake(port: Int, serverName: String?, extra: [String] = []) async throws -> (cn: String?, protocolVersion: String?, status: Int32) {
    var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-brief"] + extra
    if let serverName { args += ["-servername", serverName] } else { args += ["-noservername"] }
    let result = try await runCommandOffPool("/bin/sh", ["-c", "echo | /usr/bin/openssl " + args.joined(separator: " ") + " 2>&1"])
    let cn = result.output.split(separator: "\n").first { $0.contains("Peer certificate:") }
        .flatMap { line in line.range(of: "CN = ").map { String(line[$0.upperBound...]).split(separator: ",").first.map(String.init) ?? "" } }
    let version = result.output.split(separator: "\n").first { $0.hasPrefix("Protocol version:") }.map { String($0.dropFirst("Protocol version: ".count)) }
    return (cn, version, result.status)
}

@Suite("Edge: SNI on a real TLS listener (openssl s_client)", .timeLimit(.minutes(2)))
struct SNIHandshakeTests {
    @Test("each handshake gets the certificate its SNI names (exact, wildcard, default); TLS 1.1 is refused")
    func selectsBySNI() async throws {
        let store = CertificateStore()
        try store.replace(with: [try SelfSigned.make(names: ["a.example.org"]), try SelfSigned.make(names: ["*.b.org"])],
                          default: try SelfSigned.make(names: ["default.invalid"]))
        let server = try await TLSEchoServer(store: store)
        #expect(try await handshake(port: server.port, serverName: "a.example.org").cn == "a.example.org")
        #expect(try await handshake(port: server.port, serverName: "x.b.org").cn == "*.b.org")
        #expect(try await handshake(port: server.port, serverName: "deep.x.b.org").cn == "default.invalid")
        #expect(try await handshake(port: server.port, serverName: nil).cn == "default.invalid")
        let tls13 = try await handshake(port: server.port, serverName: "a.example.org")
        #expect(tls13.protocolVersion == "TLSv1.3")
        let tls12 = try await handshake(port: server.port, serverName: "a.example.org", extra: ["-tls1_2"])
        #expect(tls12.protocolVersion == "TLSv1.2" && tls12.cn == "a.example.org")
        let old = try await handshake(port: server.port, serverName: "a.example.org", extra: ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        #expect(old.protocolVersion == nil, "TLS 1.1 must not be negotiated")
        await server.close()
    }

    @Test("a swapped certificate is served to the next handshake while an open connection keeps working")
    func hotSwap() async throws {
        let store = CertificateStore()
        let first = try SelfSigned.make(names: ["swap.test"])
        try store.replace(with: [first], default: nil)
        let server = try await TLSEchoServer(store: store)
        // A connection opened with the first certificate, kept open.
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateVerification = .none
        let sslContext = try NIOSSLContext(configuration: client)
        let collector = CollectingHandler()
        let open = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: "swap.test"))
                    try ch.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: server.port).get()
        try await open.writeAndFlush(ByteBuffer(string: "before\n"))
        #expect(await waitFor { collector.text == "before\n" })

        let second = try SelfSigned.make(names: ["swap.test", "other.test"])
        try store.replace(with: [second], default: nil)
        let after = try await handshake(port: server.port, serverName: "swap.test", extra: ["-showcerts"])
        #expect(after.status == 0)
        let fingerprint = try await runCommandOffPool("/bin/sh", ["-c", "echo | /usr/bin/openssl s_client -connect 127.0.0.1:\(server.port) -servername swap.test 2>/dev/null | /usr/bin/openssl x509 -noout -ext subjectAltName"])
        #expect(fingerprint.output.contains("other.test"), "the new certificate: \(fingerprint.output)")
        try await open.writeAndFlush(ByteBuffer(string: "after\n"))
        #expect(await waitFor { collector.text == "before\nafter\n" }, "the open connection still works")
        try await open.close()
        await server.close()
    }
}

/// Collects what a connection receives.
final class CollectingHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let lock = NSLock()
    private var received = ""
    var text: String { lock.withLock { received } }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let s = String(buffer: unwrapInboundIn(data))
        lock.withLock { received += s }
    }
}

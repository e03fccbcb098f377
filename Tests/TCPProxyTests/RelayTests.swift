import Net
import NetTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("tcp-proxy relay over real sockets", .timeLimit(.minutes(3)))
struct RelayTests {
    @Test("bytes relay both ways intact, 1 byte to 64 MiB", arguments: [1, 1000, 65_537, 1 << 20, 64 << 20])
    func relayBothWays(size: Int) async throws {
        let echo = try await TestServer(group: group) { [EchoHandler()] }
        defer { Task { await echo.close() } }
        try await withProxy(upstreams: [local(echo.port)]) { _, port in
            let pattern = Pattern(length: size, seed: UInt8(size % 251))
            let received = try await TestClient.exchange(port: port, group: group, send: pattern)
            #expect(received == pattern.checksum)
        }
    }

    @Test("half-close: the client's EOF reaches the upstream, whose answer still comes back")
    func halfClose() async throws {
        let server = try await TestServer(group: group) { [DigestOnEOFHandler()] }
        defer { Task { await server.close() } }
        try await withProxy(upstreams: [local(server.port)]) { _, port in
            let pattern = Pattern(length: 100_000, seed: 7)
            let connection = try await TestClient.connect(port: port, group: group)
            let reply = try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(pattern.chunk(0..<pattern.length))
                outbound.finish()  // shutdown(SHUT_WR): only our output is closed
                var text = ""
                for try await buffer in inbound { text += String(buffer: buffer) }
                return text
            }
            let expected = pattern.checksum
            #expect(reply == "\(expected.count) \(String(expected.value, radix: 16))\n")
        }
    }

    @Test("a slow reader does not make the proxy buffer the upstream's stream")
    func slowReaderBackpressure() async throws {
        let progress = SourceProgress()
        let pattern = Pattern(length: 128 << 20, seed: 3)
        let source = try await TestServer(group: group) { [SourceHandler(pattern: pattern, progress: progress)] }
        defer { Task { await source.close() } }
        try await withProxy(upstreams: [local(source.port)]) { listener, port in
            let connection = try await TestClient.connect(port: port, group: group)
            try await connection.executeThenClose { inbound, _ in
                // Do not read for a while: the source must stall, the proxy must not hoard.
                try await Task.sleep(for: .milliseconds(1500))
                let stalledAt = progress.bytesWritten
                var proxyBuffered = 0
                for channel in listener.registry.channels {
                    proxyBuffered += try await channel.getOption(.bufferedWritableBytes).get()
                }
                // Kernel socket buffers hold some MiB on loopback; the proxy itself
                // holds at most one write-buffer high watermark (64 KiB) plus one read.
                #expect(proxyBuffered <= 512 << 10, "proxy buffered \(proxyBuffered) bytes for a stalled reader")
                #expect(stalledAt < 48 << 20, "source pushed \(stalledAt) bytes into a stalled path")
                let received = try await TestClient.drain(inbound)
                #expect(received == pattern.checksum)
            }
        }
    }
}

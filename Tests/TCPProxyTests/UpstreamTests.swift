import Net
import NetTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("tcp-proxy upstream choice, timeouts and TLS", .timeLimit(.minutes(3)))
struct UpstreamTests {
    @Test("fails over to the second upstream when the first refuses")
    func failover() async throws {
        let echo = try await TestServer(group: group) { [EchoHandler()] }
        defer { Task { await echo.close() } }
        let refusing = freePort()  // nothing listens there
        try await withProxy(upstreams: [local(refusing), local(echo.port)]) { _, port in
            let pattern = Pattern(length: 10_000, seed: 1)
            let received = try await TestClient.exchange(port: port, group: group, send: pattern)
            #expect(received == pattern.checksum)
        }
    }

    @Test("connect to a blackholed upstream times out with a clear error")
    func connectTimeout() async throws {
        let hole = BlackholeListener()
        let connector = try UpstreamConnector(
            UpstreamConfiguration(endpoints: [local(hole.port)], connectTimeout: .milliseconds(300)), logger: testLogger)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await connector.connect(on: group.next()).get()
            Issue.record("connect to a blackhole succeeded")
        } catch let error as UpstreamError {
            guard case .connectTimeout(let endpoint, let ms) = error else {
                Issue.record("expected connectTimeout, got \(error)")
                return
            }
            #expect(endpoint == local(hole.port))
            #expect(ms == 300)
            #expect(error.description.contains("timed out after 300 ms"))
        }
        #expect(clock.now - start < .seconds(3))
    }

    @Test("a client whose upstreams all fail is closed, not left hanging")
    func clientClosedWithoutUpstream() async throws {
        let hole = BlackholeListener()
        try await withProxy(upstreams: [local(freePort()), local(hole.port)], connectTimeout: .milliseconds(300)) { _, port in
            let connection = try await TestClient.connect(port: port, group: group)
            let received = try await connection.executeThenClose { inbound, _ in try await TestClient.drain(inbound) }
            #expect(received.count == 0)
        }
    }

    @Test("TLS upstream: verify on with the right CA relays; a wrong CA fails clearly")
    func tlsUpstream() async throws {
        let ca = try await TestCA()
        let otherCA = try await TestCA(name: "some-other-ca")
        let tls = try NIOSSLContextFactory.server(certificate: ca.serverCertificate, key: ca.serverKey)
        let echo = try await TestServer(group: group, tls: tls) { [EchoHandler()] }
        defer { Task { await echo.close() } }

        let good = TLSClientConfiguration(verify: true, caFile: ca.caCertificate)
        try await withProxy(upstreams: [local(echo.port)], tls: good) { _, port in
            let pattern = Pattern(length: 300_000, seed: 9)
            let received = try await TestClient.exchange(port: port, group: group, send: pattern)
            #expect(received == pattern.checksum)
        }
        // By name too: SNI and the certificate's DNS name.
        let byName = TLSClientConfiguration(verify: true, caFile: ca.caCertificate, serverName: "localhost")
        try await withProxy(upstreams: [local(echo.port)], tls: byName) { _, port in
            let pattern = Pattern(length: 1000, seed: 2)
            let received = try await TestClient.exchange(port: port, group: group, send: pattern)
            #expect(received == pattern.checksum)
        }

        let bad = TLSClientConfiguration(verify: true, caFile: otherCA.caCertificate)
        let connector = try UpstreamConnector(UpstreamConfiguration(endpoints: [local(echo.port)], tls: bad), logger: testLogger)
        do {
            _ = try await connector.connect(on: group.next()).get()
            Issue.record("TLS with the wrong CA succeeded")
        } catch let error as UpstreamError {
            guard case .tlsHandshakeFailed = error else {
                Issue.record("expected tlsHandshakeFailed, got \(error)")
                return
            }
            #expect(error.description.contains("CERTIFICATE_VERIFY_FAILED"), "\(error)")
        }

        // Verify off accepts the unknown CA (operator's explicit choice).
        let unverified = TLSClientConfiguration(verify: false)
        try await withProxy(upstreams: [local(echo.port)], tls: unverified) { _, port in
            let pattern = Pattern(length: 1000, seed: 4)
            let received = try await TestClient.exchange(port: port, group: group, send: pattern)
            #expect(received == pattern.checksum)
        }
    }

    @Test("an unreadable CA file is a configuration error at start")
    func badCAFile() async throws {
        #expect(throws: UpstreamError.self) {
            _ = try UpstreamConnector(UpstreamConfiguration(
                endpoints: [local(1)], tls: TLSClientConfiguration(caFile: "/nonexistent/ca.pem")), logger: testLogger)
        }
    }
}

@Suite("tcp-proxy bad input before the upstream is ready", .timeLimit(.minutes(3)))
struct EarlyInputTests {
    @Test("a client that floods and half-closes before its upstream answers is closed, not buffered")
    func earlyFloodIsBounded() async throws {
        let hole = BlackholeListener()
        try await withProxy(upstreams: [local(hole.port)], connectTimeout: .seconds(5), maxEarlyBytes: 16 << 10) { _, port in
            let clock = ContinuousClock()
            let start = clock.now
            let connection = try await TestClient.connect(port: port, group: group)
            let received = try await connection.executeThenClose { inbound, outbound in
                // 64 KiB (fits the kernel's receive buffer) then EOF: NIO reads
                // eagerly up to the EOF even with reads off; the cap is 16 KiB.
                let pattern = Pattern(length: 64 << 10)
                try? await outbound.write(pattern.chunk(0..<pattern.length))
                outbound.finish()
                return try? await TestClient.drain(inbound)
            }
            #expect((received?.count ?? 0) == 0)
            // Closed on the early-data limit, long before the 5 s connect timeout.
            #expect(clock.now - start < .seconds(4))
        }
    }
}

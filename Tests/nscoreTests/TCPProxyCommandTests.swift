import Foundation
import NetTestSupport
import Testing

@Suite("nscore tcp-proxy as a process", .serialized, .timeLimit(.minutes(3)))
struct TCPProxyCommandTests {
    @Test("under systemd: READY=1, relays real Redis traffic, STOPPING=1 on SIGTERM, journal priorities")
    func systemdLifecycle() async throws {
        try await withRedisServer { redis in
            let dir = try makeTempDirectory(prefix: "nscore-notify")
            let notify = try NotifySocket(directory: dir)
            let port = freePort()

            // stderr is a pipe; JOURNAL_STREAM names it, as systemd does for the journal.
            let stderrPipe = Pipe()
            var st = stat()
            fstat(stderrPipe.fileHandleForWriting.fileDescriptor, &st)
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = notify.path
            environment["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
            let proxy = try ExternalProcess(nscoreBinary, [
                "tcp-proxy", "--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:\(redis.port)",
            ], environment: environment, logPath: dir + "/stdout.log",
               stderrFD: stderrPipe.fileHandleForWriting.fileDescriptor)

            let ready = await notify.waitFor("READY=1")
            #expect(ready.contains { $0.contains("READY=1") }, "got \(ready)")
            #expect(try await rawExchange(port: port, send: "PING\r\n", expect: 7) == "+PONG\r\n")
            #expect(try await rawExchange(port: port, send: "SET k v\r\nGET k\r\n", expect: 12) == "+OK\r\n$1\r\nv\r\n")

            kill(proxy.pid, SIGTERM)
            let stopping = await notify.waitFor("STOPPING=1")
            #expect(stopping.contains { $0.contains("STOPPING=1") }, "got \(stopping)")
            let status = await proxy.stop()
            #expect(status == 0)

            try stderrPipe.fileHandleForWriting.close()
            let stderr = String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let lines = stderr.split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { $0.hasPrefix("<") && $0.dropFirst(2).hasPrefix(">") }, "\(stderr)")
            #expect(lines.contains { $0.hasPrefix("<6>") && $0.contains("listening") }, "\(stderr)")
        }
    }

    @Test("--help explains every option")
    func help() async throws {
        let (status, output) = try await runNscore(["tcp-proxy", "--help"])
        #expect(status == 0)
        for option in ["--listen", "--upstream", "--upstream-tls", "--tls-verify", "--ca-file", "--max-connections",
                       "--idle-timeout", "--connect-timeout", "--drain-timeout", "--log-level", "--metrics-address"] {
            #expect(output.contains(option), "help lacks \(option)")
        }
    }

    @Test("bad arguments fail with a clear message and a usage exit code")
    func badArguments() async throws {
        let (status, output) = try await runNscore(["tcp-proxy", "--listen", "127.0.0.1", "--upstream", "x:1"])
        #expect(status == 64)
        #expect(output.contains("has no port"), "\(output)")
        let (status2, output2) = try await runNscore(["tcp-proxy", "--listen", "127.0.0.1:1", "--upstream", "x:1",
                                                "--ca-file", "/tmp/ca.pem"])
        #expect(status2 == 64)
        #expect(output2.contains("need --upstream-tls on"), "\(output2)")
    }

    @Test("metrics endpoint serves Prometheus text with the proxy's counters")
    func metrics() async throws {
        try await withRedisServer { redis in
            let dir = try makeTempDirectory(prefix: "nscore-metrics")
            let port = freePort(), metricsPort = freePort()
            let proxy = try ExternalProcess(nscoreBinary, [
                "tcp-proxy", "--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:\(redis.port)",
                "--metrics-address", "127.0.0.1:\(metricsPort)",
            ], logPath: dir + "/proxy.log")
            let up = await waitFor { (try? await rawExchange(port: port, send: "PING\r\n", expect: 7)) == "+PONG\r\n" }
            #expect(up)
            // The counter is bumped right after the reply is flushed: poll until it shows.
            var body = ""
            var value = 0
            _ = await waitFor {
                body = (try? await rawExchange(port: metricsPort, send: "GET /metrics HTTP/1.0\r\n\r\n", expect: 1 << 20)) ?? ""
                let toClient = body.split(separator: "\n").first {
                    $0.hasPrefix("nscore_relay_bytes_total{") && $0.contains("direction=\"to_client\"")
                }
                value = toClient.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
                return value > 0
            }
            #expect(body.hasPrefix("HTTP/1.0 200 OK"), "\(body)")
            #expect(body.contains("nscore_connections_accepted_total{listener=\"tcp-proxy\"}"), "\(body)")
            #expect(value > 0 && value % 7 == 0, "each PONG is 7 bytes: \(body)")
            #expect(await proxy.stop() == 0, "\(proxy.log)")
        }
    }
}

@Suite("nscore tcp-proxy with systemd socket activation", .timeLimit(.minutes(3)))
struct SocketActivationTests {
    @Test("--listen systemd serves on the socket systemd passed")
    func socketActivated() async throws {
        let activate = "/usr/bin/systemd-socket-activate"
        try #require(FileManager.default.isExecutableFile(atPath: activate), "systemd-socket-activate missing: run scripts/deps.sh")
        try await withRedisServer { redis in
            let dir = try makeTempDirectory(prefix: "nscore-sockact")
            let port = freePort()
            let proxy = try ExternalProcess(activate, [
                "-l", "127.0.0.1:\(port)", nscoreBinary,
                "tcp-proxy", "--listen", "systemd", "--upstream", "127.0.0.1:\(redis.port)",
            ], logPath: dir + "/proxy.log")
            // The socket exists before nscore starts: the first connection starts it.
            let answered = await waitFor { (try? await rawExchange(port: port, send: "PING\r\n", expect: 7)) == "+PONG\r\n" }
            #expect(answered, "\(proxy.log)")
            #expect(try await rawExchange(port: port, send: "ECHO hi\r\n", expect: 8) == "$2\r\nhi\r\n")
            let status = await proxy.stop()
            #expect(status == 0, "\(proxy.log)")
            #expect(proxy.log.contains("listening"), "\(proxy.log)")
        }
    }

    @Test("--listen systemd without systemd fails clearly")
    func noSocket() async throws {
        let (status, output) = try await runNscore(["tcp-proxy", "--listen", "systemd", "--upstream", "127.0.0.1:1"])
        #expect(status != 0)
        #expect(output.contains("systemd socket 0 requested but systemd passed 0"), "\(output)")
    }
}

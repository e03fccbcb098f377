import Foundation
import NetTestSupport
import RESP

/// redis-server with the edge's ACL user, a python http.server backend, and `nscore edge`.
final class EdgeHarness: @unchecked Sendable {
    let redis: RedisServer
    let root: String
    let httpPort = freePort(), httpsPort = freePort(), backendPort = freePort()
    private(set) var edge: ExternalProcess?
    private var backend: ExternalProcess?
    let admin: RedisConnection

    /// - Parameter start: false to start the edge later (``startEdge(_:)``), once what it needs runs.
    init(start: Bool = true) async throws {
        redis = try await RedisServer()
        root = try makeTempDirectory(prefix: "nscore-edge")
        let boot = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: .singletonMultiThreadedEventLoopGroup)
        _ = try await boot.command(["ACL", "SETUSER", "cluster", "on", ">cluster-pw", "~*", "&*", "+@all"])
        _ = try await boot.command(["ACL", "SETUSER", "module/edge1", "on", ">edge-pw", "resetkeys", "~module/edge1/*", "~task/module/edge1/*",
                                    "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/agents/*", "resetchannels",
                                    "&progress/module/edge1/*", "&module/edge1/event/*", "+@read", "+@write", "+@transaction",
                                    "+@connection", "+publish", "-@admin"])
        _ = try await boot.command(["ACL", "SETUSER", "default", "ON", "nopass", "resetkeys", "~cluster/*", "~node/*", "~module/*",
                                    "resetchannels", "&*", "nocommands", "+@read", "+@connection", "+subscribe", "+psubscribe", "-@admin"])
        await boot.close()
        admin = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, configuration: .init(username: "cluster", password: "cluster-pw"),
                                                  group: .singletonMultiThreadedEventLoopGroup)
        try "hello from the backend\n".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        backend = try ExternalProcess("/usr/bin/python3", ["-m", "http.server", "\(backendPort)", "--bind", "127.0.0.1", "--directory", root],
                                      logPath: root + "/backend.log")
        if start { try await startEdge() }
    }

    func startEdge(_ extraArguments: [String] = []) async throws {
        edge = try ExternalProcess(nscoreBinary, ["edge", "--module-id", "edge1", "--http", "127.0.0.1:\(httpPort)", "--https", "127.0.0.1:\(httpsPort)",
                                                 "--state-dir", root + "/state"] + extraArguments,
                                   environment: ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)", "REDIS_PASSWORD": "edge-pw", "PATH": "/usr/bin:/bin"],
                                   logPath: root + "/edge.log")
        let up = await waitFor(timeout: .seconds(10)) { (try? String(contentsOfFile: self.root + "/edge.log", encoding: .utf8))?.contains("serving") == true }
        guard up else { throw EdgeHarnessError.notUp(log) }
    }

    func stopEdge() async { _ = await edge?.stop() }

    /// Peak resident memory of the nscore edge process, KiB.
    func edgePeakKB() -> Int {
        guard let pid = edge?.pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
    }

    var log: String { (try? String(contentsOfFile: root + "/edge.log", encoding: .utf8)) ?? "" }

    func curl(_ args: [String]) async throws -> String {
        try await runCommandOffPool("/usr/bin/curl", ["-sk", "--max-time", "10"] + args).output
    }

    /// The subject of the certificate served for `name`.
    func servedSubject(_ name: String) async throws -> String {
        try await runCommandOffPool("/bin/sh", ["-c", "echo | openssl s_client -connect 127.0.0.1:\(httpsPort) -servername \(name) 2>/dev/null | openssl x509 -noout -subject"]).output
    }

    /// `nscore edge COMMAND` with `input` on stdin, as the edge module's action step would run it.
    func manage(_ command: String, _ input: String) async throws -> (status: Int32, output: String, error: String) {
        let file = root + "/input-\(UUID().uuidString.prefix(6)).json"
        try input.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try await runCommandOffPool("/bin/sh", ["-c", "REDIS_ADDRESS=127.0.0.1:\(redis.port) REDIS_PASSWORD=edge-pw MODULE_ID=edge1 \(nscoreBinary) edge \(command) --state-dir \(root)/state < \(file) 2>\(file).err"])
        // A failed command's error (stderr), for failure messages.
        return (run.status, run.output, (try? String(contentsOfFile: file + ".err", encoding: .utf8)) ?? "")
    }

    func close() async {
        await edge?.stop()
        await backend?.stop()
        await admin.close()
        await redis.stop()
        try? FileManager.default.removeItem(atPath: root)
    }
}

enum EdgeHarnessError: Error { case notUp(String) }

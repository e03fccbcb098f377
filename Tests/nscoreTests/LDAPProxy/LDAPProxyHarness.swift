import Foundation
import JSON
import NetTestSupport
import Testing

/// Every ldapproxy suite, one test at a time (each runs slapd instances and a proxy).
@Suite("nscore ldapproxy", .serialized)
struct LDAPProxySuites {}

/// `nscore ldapproxy` started as a process, with its own temp dir, ports,
/// domain file, status socket and log.
final class LDAPProxyHarness: @unchecked Sendable {
    let root: String
    /// The default domain's port.
    let port: Int
    let portRange: ClosedRange<Int>
    private(set) var proxy: ExternalProcess?
    var configPath: String { root + "/domains.json" }
    var statusSocket: String { root + "/status.sock" }
    var logPath: String { root + "/proxy.log" }

    init() throws {
        root = try makeTempDirectory(prefix: "nscore-ldapproxy")
        port = freePort()
        let low = Int.random(in: 30000...39000)
        portRange = low...(low + 19)  // a port taken by someone else is skipped by the proxy
    }

    /// One domain of the `--config` file; providers as `(port, node, tls)`.
    static func domain(_ name: String, providers: [(port: Int, node: Int?, tls: String)], verify: String = "on",
                       host: String = "127.0.0.1") -> String {
        let list = providers.map { p in
            "{\"host\":\"\(host)\",\"port\":\(p.port),\"tls\":\"\(p.tls)\",\"tls_verify\":\"\(verify)\"" + (p.node.map { ",\"node\":\($0)" } ?? "") + "}"
        }
        return "{\"name\":\"\(name)\",\"base_dn\":\"\(SlapdServer.suffix)\",\"providers\":[\(list.joined(separator: ","))]}"
    }

    func writeConfig(_ domains: [String]) throws {
        try "{\"domains\":[\(domains.joined(separator: ","))]}\n".write(toFile: configPath + ".tmp", atomically: true, encoding: .utf8)
        _ = rename(configPath + ".tmp", configPath)
    }

    /// Starts the proxy (health checks every 0.5 s, debug log) and waits for its status socket.
    /// With `loaded`, also until the domains are loaded.
    func start(_ extra: [String] = ["--config-from-harness"], environment: [String: String] = [:], loaded: Bool = true) async throws {
        var args = ["ldapproxy", "--port", "\(port)", "--port-range", "\(portRange.lowerBound)-\(portRange.upperBound)",
                    "--status-socket", statusSocket, "--check-interval", "0.5", "--log-level", "debug"]
        args += extra.map { $0 == "--config-from-harness" ? "--config=\(configPath)" : $0 }
        var env = ["PATH": "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        proxy = try ExternalProcess(nscoreBinary, args, environment: env, logPath: logPath)
        let up = await waitFor(timeout: .seconds(10)) {
            guard let status = try? await self.status() else { return false }
            return !loaded || status["loaded"] == .bool(true)
        }
        guard up else { throw CommandFailed(command: "nscore ldapproxy", status: -1, output: log) }
    }

    /// `nscore ldapproxy status` parsed.
    func status() async throws -> JSONValue {
        let socket = statusSocket
        let (code, output) = try await runCommandOffPool(nscoreBinary, ["ldapproxy", "status", "--socket", socket])
        guard code == 0 else { throw CommandFailed(command: "nscore ldapproxy status", status: code, output: output) }
        return try JSONValue.parse(output)
    }

    /// The port the proxy gave `domain` (from its status), nil when it has none.
    func domainPort(_ domain: String) async throws -> Int? {
        guard case .array(let list)? = try await status()["domains"] else { return nil }
        for d in list where d["name"] == .string(domain) {
            if case .number(let p)? = d["port"], d["listening"] == .bool(true) { return Int(p) }
        }
        return nil
    }

    /// The health the proxy reports for the provider on `providerPort`.
    func health(_ domain: String, providerPort: Int) async throws -> String? {
        guard case .array(let list)? = try await status()["domains"] else { return nil }
        for d in list where d["name"] == .string(domain) {
            guard case .array(let providers)? = d["providers"] else { continue }
            for p in providers where p["address"] == .string("127.0.0.1:\(providerPort)") {
                if case .string(let h)? = p["health"] { return h }
            }
        }
        return nil
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func waitForLog(_ text: String, timeout: Duration = .seconds(10)) async -> Bool {
        await waitFor(timeout: timeout) { self.log.contains(text) }
    }

    func signal(_ sig: Int32) {
        if let proxy { kill(proxy.pid, sig) }
    }

    /// Resident memory of the proxy, in KiB (from /proc).
    func rssKiB() -> Int {
        guard let pid = proxy?.pid, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    func stop() async -> Int32 {
        let code = await proxy?.stop() ?? -1
        proxy = nil
        return code
    }

    func close() async {
        _ = await stop()
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// `ldapsearch -x -LLL` against `port` (base: the test suffix), stdout+stderr.
func ldapsearch(_ port: Int, _ filter: String, _ attributes: [String] = ["cn"], extra: [String] = [],
                host: String = "127.0.0.1") async throws -> (status: Int32, output: String) {
    try await ldapTool("ldapsearch", ["-x", "-LLL", "-o", "nettimeout=5", "-o", "ldif-wrap=no", "-H", "ldap://\(host):\(port)",
                                      "-b", SlapdServer.suffix] + extra + [filter] + attributes)
}

/// Runs `body` with `count` slapds and a harness, stopping everything afterwards.
func withLDAP<T>(slapds count: Int = 1, users: Int = 20, ca: TestCA? = nil,
                 _ body: ([SlapdServer], LDAPProxyHarness) async throws -> T) async throws -> T {
    var slapds: [SlapdServer] = []
    let harness = try LDAPProxyHarness()
    do {
        for _ in 0..<count { slapds.append(try await SlapdServer(users: users, ca: ca)) }
        let result = try await body(slapds, harness)
        await harness.close()
        for s in slapds { await s.stop() }
        return result
    } catch {
        await harness.close()
        for s in slapds { await s.stop() }
        throw error
    }
}

import Foundation
import Synchronization

/// A private OpenLDAP server (slapd, mdb) on free loopback ports with its
/// own temp dir, made by `scripts/slapd-instance.sh`; stopped by PID.
/// With a ``TestCA`` it also listens for LDAPS and offers Start TLS.
public final class SlapdServer: Sendable {
    public static let suffix = "dc=example,dc=org"
    public static let adminDN = "cn=admin,dc=example,dc=org"
    public static let adminPassword = "admin-secret"
    public static let serviceDN = "cn=ldapservice,dc=example,dc=org"
    public static let servicePassword = "service-secret"

    public let directory: String
    /// Clear text and Start TLS.
    public let port: Int
    /// LDAPS (0 without TLS).
    public let tlsPort: Int
    private let process: Mutex<ExternalProcess?>

    /// The repository root (for scripts/), from this file's path.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Creates the instance with `users` users and starts it.
    public init(users: Int = 20, groups: Int = 3, ca: TestCA? = nil) async throws {
        directory = try makeTempDirectory(prefix: "nscore-slapd")
        var arguments = [directory, "--users", "\(users)", "--groups", "\(groups)", "--suffix", Self.suffix]
        if let ca { arguments += ["--tls", ca.serverCertificate, ca.serverKey, ca.caCertificate] }
        let script = Self.repositoryRoot + "/scripts/slapd-instance.sh"
        let env = ["LDAP_ADMIN_PASSWORD": Self.adminPassword, "LDAP_SERVICE_PASSWORD": Self.servicePassword]
        let argv = env.map { "\($0.key)=\($0.value)" } + [script] + arguments
        let (status, output) = try await runCommandOffPool("/usr/bin/env", argv)
        guard status == 0 else { throw CommandFailed(command: "slapd-instance.sh", status: status, output: output) }
        var attempt = 0
        while true {
            attempt += 1
            let (p, t) = (freePort(), ca == nil ? 0 : freePort())
            let spawned = try Self.spawn(directory: directory, port: p, tlsPort: t)
            if await Self.waitUntilUp(spawned, port: p) {
                port = p
                tlsPort = t
                process = Mutex(spawned)
                return
            }
            await spawned.stop(signal: SIGKILL)
            if attempt >= 5 { throw CommandFailed(command: "slapd", status: -1, output: spawned.log) }
        }
    }

    private static func spawn(directory: String, port: Int, tlsPort: Int) throws -> ExternalProcess {
        let urls = "ldap://127.0.0.1:\(port)/" + (tlsPort > 0 ? " ldaps://127.0.0.1:\(tlsPort)/" : "")
        return try ExternalProcess("/usr/sbin/slapd", ["-f", directory + "/slapd.conf", "-h", urls, "-d", "0"],
                                   logPath: directory + "/slapd.log")
    }

    /// Up when an anonymous root DSE search answers (and the process is ours).
    private static func waitUntilUp(_ process: ExternalProcess, port: Int) async -> Bool {
        let up = await waitFor(timeout: .seconds(10)) {
            guard process.isRunning else { return true }
            let r = try? await runCommandOffPool("/usr/bin/ldapsearch", ["-x", "-H", "ldap://127.0.0.1:\(port)", "-b", "", "-s", "base",
                                                                          "-o", "nettimeout=2", "namingContexts"])
            return r?.status == 0
        }
        return up && process.isRunning
    }

    public var url: String { "ldap://127.0.0.1:\(port)" }
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Stops the server (SIGTERM, by PID) but keeps its data, for a later ``restart()``.
    public func pause() async {
        let p = process.withLock { $0 }
        await p?.stop()
    }

    /// Starts it again on the same ports.
    public func restart() async throws {
        for _ in 0..<50 {
            let p = try Self.spawn(directory: directory, port: port, tlsPort: tlsPort)
            if await Self.waitUntilUp(p, port: port) {
                process.withLock { $0 = p }
                return
            }
            await p.stop(signal: SIGKILL)
            try await Task.sleep(for: .milliseconds(200))  // the port may linger a moment
        }
        throw CommandFailed(command: "slapd restart", status: -1, output: "")
    }

    /// Stops the server by PID and removes its directory.
    public func stop() async {
        await pause()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// `ldapsearch`/`ldapwhoami` (ldap-utils) run to completion off the cooperative pool.
public func ldapTool(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    let env = environment.map { "\($0.key)=\($0.value)" }
    return try await runCommandOffPool("/usr/bin/env", env + ["/usr/bin/" + tool] + arguments)
}

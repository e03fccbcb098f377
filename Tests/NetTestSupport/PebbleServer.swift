import Foundation

/// Debian's `pebble` ACME test CA with `pebble-challtestsrv` as its DNS
/// (every name → 127.0.0.1), on free loopback ports; its HTTPS certificate
/// comes from a ``TestCA`` (trust ``caFile``). Validation requests go to
/// 127.0.0.1:`httpPort` — the edge under test's HTTP listener.
public final class PebbleServer: @unchecked Sendable {
    public let directory: String
    public let port = freePort(), managementPort = freePort()
    private let dnsPort = freePort(), challManagementPort = freePort()
    public let ca: TestCA
    private var pebble: ExternalProcess?
    private var dns: ExternalProcess?
    /// Fraction (percent) of nonces pebble rejects with badNonce.
    public let nonceReject: Int

    public var directoryURL: String { "https://localhost:\(port)/dir" }
    public var caFile: String { ca.caCertificate }

    /// - Parameter validity: lifetime of issued certificates in seconds (pebble's default: 5 years).
    public init(httpPort: Int, nonceReject: Int = 5, validity: Int? = nil) async throws {
        directory = try makeTempDirectory(prefix: "nscore-pebble")
        ca = try await TestCA(name: "pebble-https-ca")
        self.nonceReject = nonceReject
        let config = """
            {"pebble": {"listenAddress": "127.0.0.1:\(port)", "managementListenAddress": "127.0.0.1:\(managementPort)",
             "certificate": "\(ca.serverCertificate)", "privateKey": "\(ca.serverKey)", "httpPort": \(httpPort), "tlsPort": \(freePort()),
             "ocspResponderURL": "", "externalAccountBindingRequired": false\(validity.map { ", \"certificateValidityPeriod\": \($0)" } ?? "")}}
            """
        try config.write(toFile: directory + "/pebble.json", atomically: true, encoding: .utf8)
        dns = try ExternalProcess("/usr/bin/pebble-challtestsrv",
                                  ["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", "127.0.0.1:\(dnsPort)", "-http01", "", "-https01", "",
                                   "-tlsalpn01", "", "-management", "127.0.0.1:\(challManagementPort)"], logPath: directory + "/challtestsrv.log")
        try await start()
    }

    /// Starts pebble (again: a restarted pebble has forgotten every account, order and its roots).
    public func start() async throws {
        pebble = try ExternalProcess("/usr/bin/pebble", ["-config", directory + "/pebble.json", "-dnsserver", "127.0.0.1:\(dnsPort)"],
                                     environment: ["PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": String(nonceReject),
                                                   "PEBBLE_AUTHZREUSE": "0", "PATH": "/usr/bin:/bin"],
                                     logPath: directory + "/pebble.log")
        let up = await waitFor(timeout: .seconds(10)) {
            (try? String(contentsOfFile: self.directory + "/pebble.log", encoding: .utf8))?.contains("Listening on") == true
        }
        guard up else { throw CommandFailed(command: "pebble", status: -1, output: log) }
    }

    public func stop() async {
        _ = await pebble?.stop()
        pebble = nil
    }

    /// The root the certificates pebble issues chain to (from its management endpoint).
    public func root() async throws -> String {
        try await runCommandOffPool("/usr/bin/curl", ["-sf", "--cacert", caFile, "https://localhost:\(managementPort)/roots/0"]).output
    }

    public var log: String { (try? String(contentsOfFile: directory + "/pebble.log", encoding: .utf8)) ?? "" }

    public func close() async {
        await stop()
        _ = await dns?.stop()
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: ca.directory)
    }
}

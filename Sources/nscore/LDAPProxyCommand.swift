import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import LDAPProxy
import Logging
import Net
import NIOCore
import RESP
import UnixSignals

/// `nscore ldapproxy`: a fixed local endpoint per user domain, relayed to a healthy provider.
struct LDAPProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldapproxy",
        abstract: "Clear-text LDAP on loopback per user domain, relayed to a healthy account provider (TLS where it asks).",
        discussion: """
            Port --port (3890) serves the default domain (--default-domain, else the first in name \
            order); every domain also gets its own stable port from --port-range, published in \
            module/<module id>/data/domain_port with a user-domain-changed event on change. Domains \
            come from Redis (cluster/user_domain/ldap/*, module/*/srv/tcp/ldap; REDIS_ADDRESS, \
            REDIS_REPLICA_ADDRESS, REDIS_USER, REDIS_PASSWORD as for the agent) or from --config FILE \
            (JSON: {"domains": [{"name", "schema", "base_dn", "bind_dn", "bind_password", "tls", \
            "tls_verify", "providers": [{"host", "port", "node"}]}]}). Live reload on \
            ldap-provider-changed, service-ldap-changed and user-domain-changed events, and on SIGHUP; \
            a reload never drops an established connection.

            Providers on this node (--node-id) come first, round-robin, then the others in order. \
            Each is checked every --check-interval by reading its root DSE; a failed connect marks \
            it down at once. With no provider up a client gets an LDAP notice of disconnection \
            (unavailable, 52). Messages are framed (BER): a bad or oversized message, or half a \
            message left for --message-timeout, closes that client only. Binds are logged at debug \
            level with their DN, never the password.

            Example: nscore ldapproxy --config /etc/nscore/ldap-domains.json --node-id 1
            """,
        subcommands: [LDAPProxyStatusCommand.self])

    @Option(help: ArgumentHelp("Domains from this JSON file instead of Redis (re-read on SIGHUP).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Address every listener binds.", valueName: "host"))
    var listenAddress = "127.0.0.1"

    @Option(help: ArgumentHelp("Port of the default domain.", valueName: "port"))
    var port = 3890

    @Option(help: ArgumentHelp("The domain the default port serves (default: the first in name order).", valueName: "domain"))
    var defaultDomain: String?

    @Option(help: ArgumentHelp("Ports for the per-domain listeners.", valueName: "low-high"))
    var portRange = "20000-20999"

    @Option(help: ArgumentHelp("This node's id: its providers are tried first (default $NODE_ID).", valueName: "n"))
    var nodeID: Int?

    @Option(help: ArgumentHelp("The proxy's module id, for module/<id>/data/domain_port (default $MODULE_ID, else $AGENT_ID without module/).",
                               valueName: "id"))
    var moduleID: String?

    @Option(help: ArgumentHelp("Seconds between health checks of every provider.", valueName: "seconds"))
    var checkInterval: Double = 5

    @Option(help: ArgumentHelp("Seconds for a provider connection (TCP, Start TLS, TLS handshake).", valueName: "seconds"))
    var connectTimeout: Double = 2

    @Option(help: ArgumentHelp("CA bundle to verify providers with (default: the system's).", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("Largest LDAP message, in bytes, either way.", valueName: "bytes"))
    var maxMessageSize = 16 << 20

    @Option(help: ArgumentHelp("Close a client that leaves a message unfinished this many seconds (0 = never).", valueName: "seconds"))
    var messageTimeout: Double = 30

    @Option(help: ArgumentHelp("Close a client idle this many seconds (0 = never).", valueName: "seconds"))
    var idleTimeout: Double = 0

    @Option(help: ArgumentHelp("Most clients per listener.", valueName: "n"))
    var maxClients = 10_000

    @Option(help: ArgumentHelp("Keep the port map in this JSON file too (ports stay stable across restarts without Redis).", valueName: "file"))
    var stateFile: String?

    @Option(help: ArgumentHelp("Seconds a graceful shutdown waits for clients.", valueName: "seconds"))
    var drainTimeout: Double = 10

    @Option(help: ArgumentHelp("Unix socket for `nscore ldapproxy status` (default $RUNTIME_DIRECTORY/ldapproxy.sock, else /run/nscore/ldapproxy.sock).",
                               valueName: "path"))
    var statusSocket: String?

    @Option(help: ArgumentHelp("KEY=VALUE file with the REDIS_* variables, NODE_ID, MODULE_ID.", valueName: "file"))
    var envFile: String?

    @OptionGroup var common: CommonOptions

    // Checked when the daemon runs (in `run()`), not in `validate()`, which
    // ArgumentParser also calls for `nscore ldapproxy status`.

    private func settings() throws -> LDAPProxyConfiguration {
        let env = try daemonEnvironment(envFile: envFile)
        let bounds = portRange.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 1, bounds[0] <= bounds[1], bounds[1] <= 65535 else {
            throw ValidationError("--port-range \(portRange): expected LOW-HIGH, e.g. 20000-20999")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is not a port") }
        guard checkInterval > 0, connectTimeout > 0, messageTimeout >= 0, idleTimeout >= 0, drainTimeout >= 0 else {
            throw ValidationError("--check-interval and --connect-timeout must be positive, the other times 0 or more")
        }
        guard maxMessageSize >= 1024, maxClients > 0 else { throw ValidationError("--max-message-size must be at least 1024, --max-clients positive") }
        let node = try nodeID ?? env["NODE_ID"].map { text in
            guard let n = Int(text) else { throw ValidationError("NODE_ID=\(text) is not a number") }
            return n
        }
        let source: LDAPDomainSourceSetting
        if let config {
            source = .file(config)
        } else {
            let (id, settings) = try moduleRedis(explicit: moduleID, env: env, clientName: "ldapproxy",
                                                 missing: "with Redis the proxy needs its module id: --module-id ldapproxy1 (or MODULE_ID), or --config FILE to run standalone")
            source = .redis(settings, proxyID: id)
        }
        return LDAPProxyConfiguration(
            source: source, listenHost: listenAddress, defaultPort: port, defaultDomain: defaultDomain,
            portRange: bounds[0]...bounds[1], nodeID: node, checkInterval: TimeAmount(seconds: checkInterval),
            connectTimeout: TimeAmount(seconds: connectTimeout), caFile: caFile, maxMessageSize: maxMessageSize,
            messageTimeout: messageTimeout > 0 ? TimeAmount(seconds: messageTimeout) : nil,
            idleTimeout: idleTimeout > 0 ? TimeAmount(seconds: idleTimeout) : nil, maxConnections: maxClients,
            stateFile: stateFile, drainTimeout: .milliseconds(Int64(drainTimeout * 1000)))
    }

    func run() async throws {
        let configuration = try settings()
        let socket = statusSocket ?? ((environmentValue("RUNTIME_DIRECTORY") ?? "/run/nscore") + "/ldapproxy.sock")
        try await common.run(label: "nscore.ldapproxy") { group, logger in
            let service = LDAPProxyService(configuration: configuration, group: group, logger: logger, statusSocket: socket)
            Task {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    logger.info("SIGHUP: reloading the user domains")
                    service.reload(reason: "SIGHUP")
                }
            }
            return [service]
        }
    }
}

/// `nscore ldapproxy status`: what a running proxy serves.
struct LDAPProxyStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a running ldapproxy's domains, ports, providers and their health (JSON).")

    @Option(help: ArgumentHelp("The proxy's --status-socket (default: as the daemon's, else /run/nscore-ldapproxy/ldapproxy.sock).", valueName: "path"))
    var socket: String?

    func run() throws {
        // The daemon's default, then where the systemd unit (RuntimeDirectory=nscore-ldapproxy) puts it.
        let candidates = [(environmentValue("RUNTIME_DIRECTORY") ?? "/run/nscore") + "/ldapproxy.sock", "/run/nscore-ldapproxy/ldapproxy.sock"]
        let socket = self.socket ?? candidates.first { access($0, F_OK) == 0 } ?? candidates[0]
        do {
            StandardOutput.write(prettyJSON(try StatusSocket.fetch(path: socket)))
        } catch {
            StandardError.write("nscore ldapproxy status: \(error)\n")
            throw ExitCode(1)
        }
    }
}

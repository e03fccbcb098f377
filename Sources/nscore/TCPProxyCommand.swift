import ArgumentParser
import Net
import NIOCore
import TCPProxy

struct TCPProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp-proxy",
        abstract: "Relay TCP connections to the first upstream that answers.",
        discussion: """
            A generic L4 proxy: each client connection is relayed byte for byte to
            an upstream, tried in the order given (failover), optionally over TLS.
            Backpressure keeps memory per connection bounded; half-closes are
            propagated. SIGTERM/SIGINT stop accepting and let open connections
            finish for up to --drain-timeout seconds.

            Examples:
              nscore tcp-proxy --listen 127.0.0.1:6380 --upstream 127.0.0.1:6379
              nscore tcp-proxy --listen 127.0.0.1:3890 --upstream ldap1:636,ldap2:636 \\
                  --upstream-tls on --ca-file /etc/pki/ca.pem
            """
    )

    @Option(help: ArgumentHelp(
        "Address to listen on: HOST:PORT, [IPv6]:PORT, or 'systemd[:N]' for a socket-activated fd.",
        valueName: "address"))
    var listen: String

    @Option(help: ArgumentHelp("Upstream endpoints HOST:PORT[,HOST:PORT…], tried in order.", valueName: "endpoints"))
    var upstream: String

    @Option(help: ArgumentHelp("Speak TLS to the upstream: on or off.", valueName: "on|off"))
    var upstreamTls: Switch = .off

    @Option(help: ArgumentHelp("Verify the upstream certificate (with --upstream-tls on): on or off.", valueName: "on|off"))
    var tlsVerify: Switch = .on

    @Option(help: ArgumentHelp("PEM file of CA certificates to trust instead of the system's.", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("Name for SNI and certificate checks (default: the upstream host if it is a name).",
                               valueName: "name"))
    var tlsServerName: String?

    @Option(help: ArgumentHelp("Most client connections open at once; beyond it new ones are closed.", valueName: "n"))
    var maxConnections: Int = 10_000

    @Option(help: ArgumentHelp("Close a connection idle this many seconds (0 = never).", valueName: "seconds"))
    var idleTimeout: Double = 0

    @Option(help: ArgumentHelp("Seconds to wait for each upstream endpoint (TCP + TLS).", valueName: "seconds"))
    var connectTimeout: Double = 5

    @Option(help: ArgumentHelp("Seconds a graceful shutdown waits for open connections.", valueName: "seconds"))
    var drainTimeout: Double = 10

    @OptionGroup var common: CommonOptions

    func validate() throws {
        _ = try listenAddress()
        _ = try upstreamEndpoints()
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be at least 1") }
        guard idleTimeout >= 0 else { throw ValidationError("--idle-timeout must be 0 (never) or positive") }
        guard connectTimeout > 0 else { throw ValidationError("--connect-timeout must be positive") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must be 0 or positive") }
        if upstreamTls == .off, caFile != nil || tlsServerName != nil {
            throw ValidationError("--ca-file and --tls-server-name need --upstream-tls on")
        }
    }

    func run() async throws {
        let configuration = TCPProxyConfiguration(
            listener: ListenerConfiguration(
                name: "tcp-proxy",
                address: try listenAddress(),
                maxConnections: maxConnections,
                idleTimeout: idleTimeout > 0 ? TimeAmount(seconds: idleTimeout) : nil),
            upstream: UpstreamConfiguration(
                endpoints: try upstreamEndpoints(),
                connectTimeout: TimeAmount(seconds: connectTimeout),
                tls: upstreamTls == .on
                    ? TLSClientConfiguration(verify: tlsVerify == .on, caFile: caFile, serverName: tlsServerName)
                    : nil),
            drainTimeout: .milliseconds(Int64(drainTimeout * 1000)))
        try await common.run(label: "nscore.tcp-proxy") { group, logger in
            do {
                return [try TCPProxyService(configuration: configuration, group: group, logger: logger)]
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    private func listenAddress() throws -> ListenAddress {
        do { return try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error)") }
    }

    private func upstreamEndpoints() throws -> [Endpoint] {
        do { return try Endpoint.parseList(upstream) } catch { throw ValidationError("--upstream: \(error)") }
    }
}

/// An on/off flag value.
enum Switch: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

import ArgumentParser
import Edge
import FoundationEssentials
import Net
import NIOCore

/// `nscore edge [run]`: TLS termination and HTTP routing for the node's modules.
struct EdgeRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "TLS termination and HTTP routing to the node's modules (EDGE.md).",
        discussion: """
            Routes come from module/<edge id>/routes/<instance> hashes, certificates from \
            module/<edge id>/certificate/<name> (private keys sealed to the edge's key pair in \
            --state-dir/edge.key); both are reloaded on routes-changed and certificate-changed \
            without dropping a connection. HTTPS picks the certificate per handshake by SNI (exact \
            name, one-level wildcard, then the default — a self-signed one made at first start and \
            kept). Requests are routed by host and path (priority host+path, host, path, then the \
            longer path), bodies stream both ways; HTTP/1.1 on both listeners, HTTP/2 by ALPN on \
            --https, websocket upgrades passed through; no route 404, backend down 502, no answer 504. \
            ACME: certificates asked for with set-certificate and for routes with lets_encrypt are \
            obtained over HTTP-01 (answered on --http) from the server of set-acme-server, renewed \
            with a third of their lifetime left; failures retry with backoff and show in \
            list-certificates. REDIS_ADDRESS, REDIS_REPLICA_ADDRESS, REDIS_PASSWORD as for the agent; REDIS_USER \
            defaults to module/<edge id>.

            Example: nscore edge --module-id traefik1 --http 0.0.0.0:80 --https 0.0.0.0:443
            """)

    @Option(help: ArgumentHelp("HTTP listen address (loopback unless told otherwise).", valueName: "host:port"))
    var http: String = "127.0.0.1:80"

    @Option(help: ArgumentHelp("HTTPS listen address.", valueName: "host:port"))
    var https: String = "127.0.0.1:443"

    @Option(help: ArgumentHelp("The edge's module id (default $MODULE_ID, else $AGENT_ID without module/).", valueName: "id"))
    var moduleID: String?

    @Option(help: ArgumentHelp("This node's id, in certificate-changed events (default $NODE_ID, else 1).", valueName: "n"))
    var nodeID: Int?

    @Option(help: ArgumentHelp("Where the edge keeps its key pair (default $STATE_DIRECTORY, else /var/lib/nscore-edge).", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("Seconds a backend may take to start answering (then 504).", valueName: "seconds"))
    var responseTimeout: Double = 60

    @Option(help: ArgumentHelp("Seconds a client has to send a complete request head after connecting or after its last response (then closed).", valueName: "seconds"))
    var headTimeout: Double = 30

    @Option(help: ArgumentHelp("Seconds a connection may neither read nor write (a stalled body, a websocket, a TLS handshake) before it is closed.", valueName: "seconds"))
    var idleTimeout: Double = 120

    @Option(help: ArgumentHelp("A PEM CA bundle trusted for the ACME server besides the system CAs (a test CA such as pebble's).", valueName: "file"))
    var acmeCaFile: String?

    @Option(help: ArgumentHelp("Seconds between looks at every ACME certificate's remaining lifetime (±10 % jitter).", valueName: "seconds"))
    var acmeCheckInterval: Double = 12 * 3600

    @Option(help: ArgumentHelp("Seconds before the first retry of a failed ACME order; doubled per failure up to 6 h.", valueName: "seconds"))
    var acmeRetry: Double = 60

    @Option(help: ArgumentHelp("KEY=VALUE file with the REDIS_* variables, NODE_ID, MODULE_ID.", valueName: "file"))
    var envFile: String?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let env = try daemonEnvironment(envFile: envFile)
        let (id, settings) = try moduleRedis(explicit: moduleID, env: env, clientName: "edge",
                                             missing: "the edge needs its module id: --module-id traefik1 (or MODULE_ID)")
        guard responseTimeout > 0, headTimeout > 0, idleTimeout > 0 else {
            throw ValidationError("--response-timeout, --head-timeout and --idle-timeout must be positive")
        }
        guard acmeCheckInterval >= 1, acmeRetry >= 0.1 else { throw ValidationError("--acme-check-interval must be ≥ 1 s and --acme-retry ≥ 0.1 s") }
        let node = try nodeID ?? env["NODE_ID"].map { text in
            guard let n = Int(text) else { throw ValidationError("NODE_ID=\(text) is not a number") }
            return n
        } ?? 1
        let listen = { (text: String, option: String) throws -> ListenAddress in
            do { return try ListenAddress(parsing: text) } catch { throw ValidationError("\(option): \(error)") }
        }
        var configuration = EdgeConfiguration(edgeID: id, nodeID: node, http: try listen(http, "--http"), https: try listen(https, "--https"),
                                              stateDirectory: stateDir ?? env["STATE_DIRECTORY"] ?? "/var/lib/nscore-edge", redis: settings)
        configuration.responseTimeout = TimeAmount(seconds: responseTimeout)
        configuration.headTimeout = TimeAmount(seconds: headTimeout)
        configuration.idleTimeout = TimeAmount(seconds: idleTimeout)
        configuration.acme.caFile = acmeCaFile
        configuration.acme.checkInterval = .seconds(acmeCheckInterval)
        configuration.acme.retryInitial = .seconds(acmeRetry)
        try await common.run(label: "nscore.edge") { group, logger in
            [try EdgeService(configuration: configuration, group: group, logger: logger)]
        }
    }
}

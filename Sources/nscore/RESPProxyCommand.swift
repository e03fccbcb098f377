import ArgumentParser
import JSON
import FoundationEssentials
import Logging
import Net
import NIOCore
import RESP
import RESPProxy
import UnixSignals

/// `nscore resp-proxy`: one local Redis endpoint, reads to the replica, authenticated writes to the leader.
struct RESPProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resp-proxy",
        abstract: "One local Redis endpoint: public reads to the replica, authenticated writes to the leader, ACLs intact.",
        discussion: """
            Clients that do not AUTH act as `default`: reads and subscriptions go to the replica, \
            whose ACL refuses anything else with its own error. After AUTH (checked by the leader), \
            writes, blocking commands, transactions (pinned to one leader link), scripting, PUBLISH \
            and private reads go to the leader as that user; public reads go to the replica, or to \
            the leader for --ryw-window after the session wrote (--read-your-writes on). Replies are \
            forwarded as the servers sent them. A `cluster/event/leader-changed` event (payload \
            {"endpoint": "host:port"}) or SIGHUP with --env-file (its REDIS_ADDRESS) re-points new \
            leader traffic without dropping clients. SIGTERM stops accepting and lets clients finish \
            for --drain-timeout seconds.

            Defaults: --replica from REDIS_REPLICA_ADDRESS (else REDIS_ADDRESS), --leader from \
            REDIS_ADDRESS (else 127.0.0.1:6379).

            Example: nscore resp-proxy --listen 127.0.0.1:6380 --replica 127.0.0.1:6379 --leader 10.5.4.1:6379
            """,
        subcommands: [RESPProxyStatusCommand.self])

    @Option(help: ArgumentHelp("Address to listen on (HOST:PORT, or systemd[:N]).", valueName: "address"))
    var listen = "127.0.0.1:6380"

    @Option(help: ArgumentHelp("The local replica (public reads, subscriptions).", valueName: "host:port"))
    var replica: String?

    @Option(help: ArgumentHelp("The leader (writes, authenticated traffic).", valueName: "host:port"))
    var leader: String?

    @Option(help: ArgumentHelp("Send a session's public reads to the leader right after it wrote: on or off.", valueName: "on|off"))
    var readYourWrites: Switch = .on

    @Option(help: ArgumentHelp("How long after a write reads go to the leader (seconds).", valueName: "seconds"))
    var rywWindow: Double = 1

    @Option(help: ArgumentHelp("Most clients at once; beyond it new ones are closed.", valueName: "n"))
    var maxClients: Int = 10_000

    @Option(help: ArgumentHelp("Requests in flight per client before the proxy stops reading from it.", valueName: "n"))
    var maxPipeline: Int = 1024

    @Option(help: ArgumentHelp("Largest request accepted, in bytes (a larger one closes the client).", valueName: "bytes"))
    var maxRequestSize: Int = 64 << 20

    @Option(help: ArgumentHelp("Close a client idle this many seconds (0 = never).", valueName: "seconds"))
    var idleTimeout: Double = 0

    @Option(help: ArgumentHelp("Seconds a graceful shutdown waits for clients.", valueName: "seconds"))
    var drainTimeout: Double = 10

    @Option(help: ArgumentHelp("Unix socket for `nscore resp-proxy status` (default $RUNTIME_DIRECTORY/resp-proxy.sock, else /run/nscore/resp-proxy.sock).",
                               valueName: "path"))
    var statusSocket: String?

    @Option(help: ArgumentHelp("KEY=VALUE file with REDIS_ADDRESS / REDIS_REPLICA_ADDRESS; re-read on SIGHUP.", valueName: "file"))
    var envFile: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        _ = try settings()
        guard maxClients > 0, maxPipeline > 0, maxRequestSize >= 1024 else {
            throw ValidationError("--max-clients and --max-pipeline must be positive, --max-request-size at least 1024")
        }
        guard rywWindow >= 0, idleTimeout >= 0, drainTimeout >= 0 else { throw ValidationError("times must be 0 or positive") }
    }

    private func environment() throws -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        if let envFile {
            do { env.merge(try EnvironmentFile.load(path: envFile)) { $1 } } catch { throw ValidationError("\(error)") }
        }
        return env
    }

    /// The proxy's settings from the flags, then the environment.
    private func settings() throws -> RESPProxyConfiguration {
        let env = try environment()
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        let leaderText = leader ?? value("REDIS_ADDRESS") ?? "127.0.0.1:6379"
        let replicaText = replica ?? value("REDIS_REPLICA_ADDRESS") ?? value("REDIS_ADDRESS") ?? "127.0.0.1:6379"
        let listenAddress: ListenAddress
        do { listenAddress = try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error)") }
        return RESPProxyConfiguration(
            listener: ListenerConfiguration(name: "resp-proxy", address: listenAddress, maxConnections: maxClients,
                                            idleTimeout: idleTimeout > 0 ? TimeAmount(seconds: idleTimeout) : nil),
            replica: try parseEndpoint(replicaText, option: "--replica"),
            leader: try parseEndpoint(leaderText, option: "--leader"),
            readYourWrites: readYourWrites == .on, readYourWritesWindow: TimeAmount(seconds: rywWindow),
            maxPipelineDepth: maxPipeline, requestLimits: RESPRequestLimits(maxRequestBytes: maxRequestSize),
            drainTimeout: .milliseconds(Int64(drainTimeout * 1000)))
    }

    func run() async throws {
        let configuration = try settings()
        let socket = statusSocket ?? ((environmentValue("RUNTIME_DIRECTORY") ?? "/run/nscore") + "/resp-proxy.sock")
        let envFile = self.envFile
        try await common.run(label: "nscore.resp-proxy") { group, logger in
            let service = RESPProxyService(configuration: configuration, group: group, logger: logger, statusSocket: socket)
            if let envFile {
                Task {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        guard let env = try? EnvironmentFile.load(path: envFile), let text = env["REDIS_ADDRESS"],
                              let endpoint = try? Endpoint(parsing: text, defaultPort: 6379) else {
                            logger.warning("SIGHUP: \(envFile) has no usable REDIS_ADDRESS; leader unchanged")
                            continue
                        }
                        service.changeLeader(to: endpoint, reason: "SIGHUP: \(envFile)")
                    }
                }
            }
            return [service]
        }
    }
}

/// `nscore resp-proxy status`: what a running proxy holds.
struct RESPProxyStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a running resp-proxy's clients, users, upstream links and routed counts (JSON).")

    @Option(help: ArgumentHelp("The proxy's --status-socket (same default).", valueName: "path"))
    var socket: String?

    func run() throws {
        let socket = self.socket ?? ((environmentValue("RUNTIME_DIRECTORY") ?? "/run/nscore") + "/resp-proxy.sock")
        do {
            StandardOutput.write(prettyJSON(try StatusSocket.fetch(path: socket)))
        } catch {
            StandardError.write("nscore resp-proxy status: \(error)\n")
            throw ExitCode(1)
        }
    }
}

/// A status document pretty-printed (as it came when it is not JSON).
func prettyJSON(_ text: String) -> String {
    let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
    guard let value = try? JSONValue.parse(trimmed) else { return text }
    return value.prettySerialized + "\n"
}

import ArgumentParser
import FoundationEssentials
import Net
import NIOCore
import NIOPosix
import RESP

/// `nscore redis CMD ARGS…`: one command, routed like the agents route it.
struct RedisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "Run one Redis command, routed to the replica or the leader like an agent would.",
        discussion: """
            Reads REDIS_ADDRESS (leader, default 127.0.0.1:6379), REDIS_REPLICA_ADDRESS \
            (default REDIS_ADDRESS), REDIS_USER (default AGENT_ID) and REDIS_PASSWORD from \
            the environment, or from --env-file (which wins). Public reads (cluster/*, node/*, \
            module/*) and SUBSCRIBE go to the replica as the default user; writes, private \
            reads, blocking and admin commands go to the leader with the ACL user. Without \
            REDIS_PASSWORD such a command fails at once.

            Replies print like redis-cli: its human format on a terminal, --raw otherwise. \
            Exit status: 0, 1 for an error reply or a Redis failure, 64 for bad usage.

            Example: nscore redis --env-file /var/lib/nethserver/node/state/agent.env HGETALL node/1/vpn
            """)

    @Flag(help: "Send to the leader with the ACL user even if the command could go to the replica.")
    var privileged = false

    @Option(help: ArgumentHelp("Read REDIS_* variables from a KEY=VALUE file (like systemd's EnvironmentFile).",
                               valueName: "file"))
    var envFile: String?

    @Flag(inversion: .prefixedNo, help: "Raw output (default when stdout is not a terminal).")
    var raw: Bool?

    @Option(help: ArgumentHelp("Seconds to wait for a connection and a reply.", valueName: "seconds"))
    var timeout: Double = 10

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give a command, e.g. nscore redis PING") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let envFile {
            do { environment.merge(try EnvironmentFile.load(path: envFile)) { $1 } } catch {
                throw ValidationError("\(error)")
            }
        }
        let base = RedisConnectionConfiguration(commandTimeout: TimeAmount(seconds: timeout),
                                                connectTimeout: TimeAmount(seconds: min(timeout, 5)))
        let settings: RedisSettings
        do { settings = try RedisSettings(environment: environment, clientName: "nscore-redis", base: base) } catch {
            throw ValidationError("\(error)")
        }
        let client = RedisRoutingClient(settings: settings, group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
        defer { Task { await client.close() } }
        let reply: RESPValue
        do {
            // RedisClient.send itself moves a blocking command to a leased connection.
            if privileged {
                reply = try await client.client(for: .privileged, command: command[0]).send(command, timeout: nil).value
            } else {
                reply = try await client.send(command, timeout: nil).value
            }
        } catch {
            let message: String
            if case .server(let text) = error { message = text } else { message = "\(error)" }
            print(useRaw ? message : "(error) \(message)")
            await client.close()
            throw ExitCode.failure
        }
        print(useRaw ? RedisCLIFormat.raw(reply) : RedisCLIFormat.tty(reply), terminator: "")
        await client.close()
    }

    private var useRaw: Bool { raw ?? (isatty(STDOUT_FILENO) == 0) }
}

import Foundation
import JSON
import NetTestSupport
import NIOPosix
import RESP
import Testing

/// A redis-server with the platform's ACL users, MONITOR recording every
/// command, fixture action/event directories and the real `nscore agent`
/// binary running as `module/test1` in its own state directory.
final class AgentHarness: @unchecked Sendable {
    static let agentID = "module/test1"
    static let password = "pw-test1"
    static let clusterPassword = "cluster-secret"

    let redis: RedisServer
    let root: String
    private(set) var admin: RedisConnection
    private(set) var agent: ExternalProcess?
    private var monitor: ExternalProcess?
    var actions: String { root + "/actions" }
    var events: String { root + "/events" }
    var state: String { root + "/state" }
    var agentLogPath: String { root + "/agent.log" }

    private init(redis: RedisServer, root: String, admin: RedisConnection) {
        self.redis = redis
        self.root = root
        self.admin = admin
    }

    static func make() async throws -> AgentHarness {
        let redis = try await RedisServer()
        let root = try makeTempDirectory(prefix: "nscore-agent")
        for dir in ["actions", "events", "state"] {
            try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        try await loadACL(port: redis.port)
        let admin = try await RedisConnection.connect(
            host: "127.0.0.1", port: redis.port, configuration: .init(username: "cluster", password: clusterPassword),
            group: .singletonMultiThreadedEventLoopGroup)
        let harness = AgentHarness(redis: redis, root: root, admin: admin)
        harness.monitor = try ExternalProcess("/usr/bin/redis-cli", ["-p", "\(redis.port)", "--user", "cluster", "--pass", clusterPassword,
                                                                     "--no-auth-warning", "monitor"], logPath: root + "/monitor.log")
        _ = await waitFor { (try? String(contentsOfFile: root + "/monitor.log", encoding: .utf8))?.hasPrefix("OK") == true }
        return harness
    }

    /// The ACL users of REDIS-LAYOUT.md: `cluster`, the agent's `module/test1`, the restricted `default`.
    static func loadACL(port: Int) async throws {
        let boot = try await RedisConnection.connect(host: "127.0.0.1", port: port, group: .singletonMultiThreadedEventLoopGroup)
        _ = try await boot.command(["ACL", "SETUSER", "cluster", "on", ">" + clusterPassword, "~*", "&*", "+@all"])
        let id = agentID
        _ = try await boot.command(
            ["ACL", "SETUSER", id, "ON", ">" + password, "resetkeys", "~\(id)/*", "~task/\(id)/*",
             "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/agents/*", "resetchannels",
             "&progress/\(id)/*", "&\(id)/event/*", "+@read", "+@write", "+@transaction", "+@connection", "+publish", "-@admin"])
        _ = try await boot.command(
            ["ACL", "SETUSER", "default", "ON", "nopass", "resetkeys", "~cluster/*", "~node/*", "~module/*",
             "resetchannels", "&*", "nocommands", "+@read", "+@connection", "+subscribe", "+psubscribe", "-@admin"])
        await boot.close()
    }

    /// After a restart: the ACL users again, and a new admin connection.
    func reloadACL() async throws {
        try await Self.loadACL(port: redis.port)
        await admin.close()
        admin = try await RedisConnection.connect(
            host: "127.0.0.1", port: redis.port, configuration: .init(username: "cluster", password: Self.clusterPassword),
            group: .singletonMultiThreadedEventLoopGroup)
    }

    /// Writes an executable step (or a data file with another mode).
    @discardableResult
    func step(_ name: String, _ file: String, _ body: String, mode: Int = 0o755, kind: String = "actions") throws -> String {
        let dir = root + "/" + kind + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + file
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode_t(mode))
        return path
    }

    /// The environment the agent runs with.
    func environment(_ extra: [String: String]) -> [String: String] {
        var env = ["PATH": "/usr/bin:/bin", "REDIS_ADDRESS": "127.0.0.1:\(redis.port)", "REDIS_PASSWORD": Self.password,
                   "AGENT_POLLING_INTERVAL": "1s", "LOG_LEVEL": "info"]
        env.merge(extra) { $1 }
        return env
    }

    /// Starts the agent and waits until its BRPOP is in place.
    func start(_ extra: [String: String] = [:], arguments: [String]? = nil) async throws {
        let args = arguments ?? ["agent", "--agentid=\(Self.agentID)", "--actionsdir=\(actions)", "--eventsdir", events]
        agent = try ExternalProcess(nscoreBinary, args, environment: environment(extra), logPath: agentLogPath, workingDirectory: state)
        let up = await waitFor(timeout: .seconds(10)) { await self.clientCommands().contains("brpop") }
        guard up else { throw HarnessError.agentNotUp(log) }
    }

    /// The last command of each client named like the agent (`brpop`, `psubscribe`…).
    func clientCommands() async -> [String] {
        guard let list = try? await admin.command(["CLIENT", "LIST"]).value.string else { return [] }
        return list.split(separator: "\n").filter { $0.contains("name=\(Self.agentID) ") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("cmd=") }.map { String($0.dropFirst(4)) }
        }
    }

    /// Pushes a task; returns its id.
    @discardableResult
    func submit(_ action: String, data: String = "null", id: String = UUID().uuidString, user: String? = nil) async throws -> String {
        let userPart = user.map { #","user":"\#($0)""# } ?? ""
        try await push(#"{"id":"\#(id)","action":"\#(action)","data":\#(data)\#(userPart)}"#)
        return id
    }

    func push(_ item: String) async throws {
        _ = try await admin.command(["LPUSH", "\(Self.agentID)/tasks", item])
    }

    struct Result: Sendable {
        let exitCode: Int, output: String, error: String
    }

    /// Waits for a task's results.
    func result(_ id: String, timeout: Duration = .seconds(15)) async throws -> Result {
        let base = "task/\(Self.agentID)/\(id)/"
        let done = await waitFor(timeout: timeout) { (try? await self.get(base + "exit_code")) != nil }
        guard done, let code = try await get(base + "exit_code").flatMap({ Int($0) }) else { throw HarnessError.noResult(id, log) }
        return Result(exitCode: code, output: try await get(base + "output") ?? "", error: try await get(base + "error") ?? "")
    }

    func get(_ key: String) async throws -> String? {
        try await admin.get(key)
    }

    var log: String { (try? String(contentsOfFile: agentLogPath, encoding: .utf8)) ?? "" }

    /// Waits for the agent log to contain `text`.
    func waitForLog(_ text: String, timeout: Duration = .seconds(10)) async -> Bool {
        await waitFor(timeout: timeout) { self.log.contains(text) }
    }

    /// Every command MONITOR saw so far, as argument lists (the address kept apart).
    func commands() -> [(client: String, arguments: [String])] {
        let text = (try? String(contentsOfFile: root + "/monitor.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap(MonitorLine.parse)
    }

    /// The commands of every client but the harness's own (the agent's, and MONITOR's none).
    func agentCommands() -> [(client: String, arguments: [String])] {
        let mine = admin.channel.localAddress.map { "\($0.ipAddress ?? ""):\($0.port ?? 0)" } ?? ""
        return commands().filter { !$0.client.hasSuffix(" " + mine) }
    }

    /// The commands that mention `needle` in an argument, in order.
    func commands(mentioning needle: String) -> [[String]] {
        commands().map(\.arguments).filter { $0.contains { $0.contains(needle) } }
    }

    /// Messages published on a task's progress channel, in order.
    func progress(_ id: String) -> [String] {
        commands(mentioning: "progress/\(Self.agentID)/task/\(id)").compactMap { $0.first == "publish" && $0.count == 3 ? $0[2] : nil }
    }

    func close() async {
        await agent?.stop(signal: SIGKILL)
        await monitor?.stop(signal: SIGKILL)
        await admin.close()
        await redis.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    enum HarnessError: Error, CustomStringConvertible {
        case agentNotUp(String)
        case noResult(String, String)
        var description: String {
            switch self {
            case .agentNotUp(let log): "the agent did not start popping; its log:\n\(log)"
            case .noResult(let id, let log): "no result for task \(id); agent log:\n\(log)"
            }
        }
    }
}

/// Runs `body` with a fresh harness, always closing it.
func withAgent<T>(_ body: (AgentHarness) async throws -> T) async throws -> T {
    let h = try await AgentHarness.make()
    do {
        let r = try await body(h)
        await h.close()
        return r
    } catch {
        await h.close()
        throw error
    }
}

/// One line of `redis-cli monitor`: `1700000000.123 [0 127.0.0.1:5555] "set" "k" "v"`.
enum MonitorLine {
    static func parse(_ line: Substring) -> (client: String, arguments: [String])? {
        guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
        let client = String(line[line.index(after: open)..<close])
        var args: [String] = []
        var bytes: [UInt8] = []
        var inQuote = false
        var chars = Array(line[line.index(after: close)...].utf8)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if !inQuote {
                if c == UInt8(ascii: "\"") { inQuote = true; bytes = [] }
            } else if c == UInt8(ascii: "\\"), i + 1 < chars.count {
                i += 1
                switch chars[i] {
                case UInt8(ascii: "n"): bytes.append(10)
                case UInt8(ascii: "r"): bytes.append(13)
                case UInt8(ascii: "t"): bytes.append(9)
                case UInt8(ascii: "a"): bytes.append(7)
                case UInt8(ascii: "b"): bytes.append(8)
                case UInt8(ascii: "x") where i + 2 < chars.count:
                    bytes.append(UInt8(String(decoding: chars[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) ?? 0)
                    i += 2
                default: bytes.append(chars[i])
                }
            } else if c == UInt8(ascii: "\"") {
                inQuote = false
                args.append(String(decoding: bytes, as: UTF8.self))
            } else {
                bytes.append(c)
            }
            i += 1
        }
        chars.removeAll()
        return (client, args)
    }
}

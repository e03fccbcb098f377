public import JSON
public import NIOCore
public import RESP
import Synchronization

/// Submits tasks to agents and follows them (`nscore task`): the task
/// goes to `<agent id>/tasks` on the leader, progress comes from
/// `progress/<agent id>/task/<id>` on the replica.
public final class TaskClient: Sendable {
    private let redis: RedisRoutingClient

    /// A client over the `REDIS_*` settings; nothing connects until used.
    public init(settings: RedisSettings, group: any EventLoopGroup) {
        redis = RedisRoutingClient(settings: settings, group: group, poolSize: 1)
    }

    /// A task's progress as published.
    public struct Progress: Sendable, Equatable {
        public var status: String
        public var progress: Int
        /// True for the final statuses.
        public var isFinal: Bool { ["completed", "aborted", "validation-failed"].contains(status) }
    }

    /// A finished task as stored.
    public struct Record: Sendable {
        public var context: String?
        public var output: String
        public var error: String
        public var exitCode: Int?
    }

    /// Whether an agent is listening: a Redis client named `agentID` idle for at most `maxIdle` seconds.
    /// - Throws: `.server("NOPERM …")` when the credentials may not list clients.
    public func isListening(_ agentID: String, maxIdle: Int = 8) async throws(RedisClientError) -> Bool {
        let list = try await redis.client(for: .privileged, command: "client").clientList()
        return list.split(separator: "\n").contains { line in
            let fields = Dictionary(line.split(separator: " ").compactMap { f -> (Substring, Substring)? in
                guard let eq = f.firstIndex(of: "=") else { return nil }
                return (f[..<eq], f[f.index(after: eq)...])
            }, uniquingKeysWith: { a, _ in a })
            return fields["name"].map(String.init) == agentID && (fields["idle"].flatMap { Int($0) } ?? .max) <= maxIdle
        }
    }

    /// Subscribes to a task's progress channel (before pushing, so nothing is missed).
    public func progress(agentID: String, taskID: String) async throws(RedisClientError) -> RedisSubscription {
        try await redis.subscribe(channels: ["progress/\(agentID)/task/\(taskID)"])
    }

    /// Pushes a task; returns its id (a new UUID unless given).
    @discardableResult
    public func submit(agentID: String, action: String, data: JSONValue, user: String,
                       id: String = TaskClient.newID()) async throws(RedisClientError) -> String {
        let task = JSONValue.object([("id", .string(id)), ("action", .string(action)), ("data", data), ("user", .string(user))])
        _ = try await redis.lpush(agentID + "/tasks", [task.serialized])
        return id
    }

    /// The stored context, output, error and exit code of a task (exit code nil: not finished).
    public func record(agentID: String, taskID: String) async throws(RedisClientError) -> Record {
        let base = "task/\(agentID)/\(taskID)/"
        let values = try await redis.mget([base + "context", base + "output", base + "error", base + "exit_code"])
        return Record(context: values[0], output: values[1] ?? "", error: values[2] ?? "", exitCode: values[3].flatMap { Int($0) })
    }

    /// One line of `nscore task list`.
    public struct Summary: Sendable {
        public var taskID: String
        public var action: String
        public var user: String
        public var exitCode: Int?
        /// Seconds left before the keys expire (results keep 8 h).
        public var ttl: Int
    }

    /// The tasks of an agent still in Redis, newest first.
    public func list(agentID: String) async throws(RedisClientError) -> [Summary] {
        let prefix = "task/\(agentID)/"
        var out: [Summary] = []
        var keys = try redis.client(for: .privileged, command: "scan").scan(match: prefix + "*/context").makeAsyncIterator()
        while let key = try await keys.next() {
            let id = String(key.dropFirst(prefix.count).dropLast("/context".count))
            let values = try await redis.mget([key, prefix + id + "/exit_code"])
            let context = values[0].flatMap { try? JSONValue.parse($0) }
            let ttl = try await redis.ttl(key)
            func text(_ name: String) -> String {
                if case .string(let s)? = context?[name] { return s }
                return ""
            }
            out.append(Summary(taskID: id, action: text("action"), user: text("user"), exitCode: values[1].flatMap { Int($0) }, ttl: ttl))
        }
        return out.sorted { ($0.exitCode == nil ? 1 : 0, $0.ttl) > ($1.exitCode == nil ? 1 : 0, $1.ttl) }
    }

    /// Closes the connections.
    public func close() async {
        await redis.close()
    }

    /// A random (version 4) UUID in its usual text form.
    public static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        let digits = Array("0123456789abcdef")
        let hex = bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// Parses a progress message (`{"status":…,"progress":N}`).
    public static func parseProgress(_ payload: ByteBuffer) -> Progress? {
        guard let v = try? JSONValue.parse(String(buffer: payload)), case .string(let status)? = v["status"],
              case .number(let p)? = v["progress"] else { return nil }
        return Progress(status: status, progress: Int(p))
    }
}

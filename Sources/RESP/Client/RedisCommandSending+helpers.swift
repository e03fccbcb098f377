import NIOCore

/// When `SET` may write.
public enum RedisSetCondition: Sendable { case always, ifNotExists, ifExists }

/// Typed helpers for the commands the platform uses. Each one builds the
/// command line, sends it with the default timeout and converts the reply;
/// a reply of the wrong type throws ``RedisClientError/unexpectedType(expected:got:)``.
extension RedisCommandSending {
    func value(_ arguments: [String]) async throws(RedisClientError) -> RESPValue {
        try await send(arguments, timeout: nil).value
    }

    func integer(_ arguments: [String]) async throws(RedisClientError) -> Int {
        let v = try await value(arguments)
        guard let i = v.int else { throw .unexpectedType(expected: "integer", got: v.typeName) }
        return i
    }

    func optionalString(_ arguments: [String]) async throws(RedisClientError) -> String? {
        let v = try await value(arguments)
        if v == .null { return nil }
        guard let s = v.string else { throw .unexpectedType(expected: "string", got: v.typeName) }
        return s
    }

    func strings(_ arguments: [String]) async throws(RedisClientError) -> [String] {
        let v = try await value(arguments)
        guard let e = v.elements else { throw .unexpectedType(expected: "array", got: v.typeName) }
        return e.compactMap(\.string)
    }

    // MARK: strings and keys

    /// `GET key`: the value, nil when the key does not exist.
    public func get(_ key: String) async throws(RedisClientError) -> String? {
        try await optionalString(["get", key])
    }

    /// `SET key value [EX seconds] [NX|XX]`; false when the condition stopped the write.
    @discardableResult
    public func set(_ key: String, _ value: String, expireSeconds: Int? = nil,
                    condition: RedisSetCondition = .always) async throws(RedisClientError) -> Bool {
        var command = ["set", key, value]
        if let expireSeconds { command += ["ex", String(expireSeconds)] }
        switch condition {
        case .always: break
        case .ifNotExists: command.append("nx")
        case .ifExists: command.append("xx")
        }
        return try await self.value(command) != .null
    }

    /// `DEL key…`: how many keys were removed.
    @discardableResult
    public func del(_ keys: [String]) async throws(RedisClientError) -> Int {
        try await integer(["del"] + keys)
    }

    /// `EXISTS key…`: how many of the keys exist.
    public func exists(_ keys: [String]) async throws(RedisClientError) -> Int {
        try await integer(["exists"] + keys)
    }

    /// `EXPIRE key seconds`: false when the key does not exist.
    @discardableResult
    public func expire(_ key: String, seconds: Int) async throws(RedisClientError) -> Bool {
        try await integer(["expire", key, String(seconds)]) == 1
    }

    /// `TTL key`: seconds left, -1 without expiry, -2 when the key does not exist.
    public func ttl(_ key: String) async throws(RedisClientError) -> Int {
        try await integer(["ttl", key])
    }

    /// `MGET key…`: one value (or nil) per key, in order.
    public func mget(_ keys: [String]) async throws(RedisClientError) -> [String?] {
        let v = try await value(["mget"] + keys)
        guard let e = v.elements else { throw .unexpectedType(expected: "array", got: v.typeName) }
        return e.map(\.string)
    }

    // MARK: hashes

    /// `HSET key field value…`: how many fields were added.
    @discardableResult
    public func hset(_ key: String, _ fields: KeyValuePairs<String, String>) async throws(RedisClientError) -> Int {
        try await integer(["hset", key] + fields.flatMap { [$0.key, $0.value] })
    }

    /// `HSET key field value…` from a dictionary.
    @discardableResult
    public func hset(_ key: String, _ fields: [String: String]) async throws(RedisClientError) -> Int {
        try await integer(["hset", key] + fields.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] })
    }

    /// `HGET key field`.
    public func hget(_ key: String, _ field: String) async throws(RedisClientError) -> String? {
        try await optionalString(["hget", key, field])
    }

    /// `HGETALL key`: empty when the key does not exist.
    public func hgetall(_ key: String) async throws(RedisClientError) -> [String: String] {
        let v = try await value(["hgetall", key])
        guard let pairs = v.pairs else { throw .unexpectedType(expected: "map", got: v.typeName) }
        var result: [String: String] = [:]
        for (k, value) in pairs { if let k = k.string, let value = value.string { result[k] = value } }
        return result
    }

    /// `HDEL key field…`: how many fields were removed.
    @discardableResult
    public func hdel(_ key: String, _ fields: [String]) async throws(RedisClientError) -> Int {
        try await integer(["hdel", key] + fields)
    }

    // MARK: lists

    /// `LPUSH key value…`: the new length.
    @discardableResult
    public func lpush(_ key: String, _ values: [String]) async throws(RedisClientError) -> Int {
        try await integer(["lpush", key] + values)
    }

    /// `RPUSH key value…`: the new length.
    @discardableResult
    public func rpush(_ key: String, _ values: [String]) async throws(RedisClientError) -> Int {
        try await integer(["rpush", key] + values)
    }

    /// `LRANGE key start stop`.
    public func lrange(_ key: String, _ start: Int, _ stop: Int) async throws(RedisClientError) -> [String] {
        try await strings(["lrange", key, String(start), String(stop)])
    }

    /// `LREM key count value`: how many were removed.
    @discardableResult
    public func lrem(_ key: String, count: Int, _ value: String) async throws(RedisClientError) -> Int {
        try await integer(["lrem", key, String(count), value])
    }

    // MARK: sets

    /// `SADD key member…`: how many were added.
    @discardableResult
    public func sadd(_ key: String, _ members: [String]) async throws(RedisClientError) -> Int {
        try await integer(["sadd", key] + members)
    }

    /// `SREM key member…`: how many were removed.
    @discardableResult
    public func srem(_ key: String, _ members: [String]) async throws(RedisClientError) -> Int {
        try await integer(["srem", key] + members)
    }

    /// `SMEMBERS key`, sorted (Redis returns them in no order).
    public func smembers(_ key: String) async throws(RedisClientError) -> [String] {
        try await strings(["smembers", key]).sorted()
    }

    // MARK: pub/sub, server, ACL

    /// `PUBLISH channel message`: how many subscribers received it (on this server).
    @discardableResult
    public func publish(_ channel: String, _ message: String) async throws(RedisClientError) -> Int {
        try await integer(["publish", channel, message])
    }

    /// `INFO [section]` as text.
    public func info(_ section: String? = nil) async throws(RedisClientError) -> String {
        try await optionalString(["info"] + (section.map { [$0] } ?? [])) ?? ""
    }

    /// `ROLE`: `master`, `slave` or `sentinel`.
    public func role() async throws(RedisClientError) -> String {
        let v = try await value(["role"])
        guard let role = v.elements?.first?.string else { throw .unexpectedType(expected: "array", got: v.typeName) }
        return role
    }

    /// `CLIENT LIST` as text, one line per connection.
    public func clientList() async throws(RedisClientError) -> String {
        try await optionalString(["client", "list"]) ?? ""
    }

    /// `CLIENT SETNAME name` (on whichever connection runs it: use a
    /// connection's own configuration for a name that must stick).
    public func clientSetName(_ name: String) async throws(RedisClientError) {
        _ = try await value(["client", "setname", name])
    }

    /// `ACL SETUSER name rule…`.
    public func aclSetUser(_ name: String, rules: [String]) async throws(RedisClientError) {
        _ = try await value(["acl", "setuser", name] + rules)
    }

    /// `ACL DELUSER name…`: how many users were deleted.
    @discardableResult
    public func aclDelUser(_ names: [String]) async throws(RedisClientError) -> Int {
        try await integer(["acl", "deluser"] + names)
    }

    /// `ACL LIST`: one rule line per user.
    public func aclList() async throws(RedisClientError) -> [String] {
        try await strings(["acl", "list"])
    }

    // MARK: transactions and iteration

    /// `MULTI`, the commands, `EXEC` in one write on one connection. Returns
    /// each command's reply (error replies included as values), or nil when
    /// a `WATCH`ed key changed (run WATCH on the same connection first:
    /// use ``RedisClient/withExclusiveConnection(timeout:_:)``).
    /// - Throws: `.server("EXECABORT …")` when a command was refused while queueing.
    public func transaction(_ commands: [[String]]) async throws(RedisClientError) -> [RESPValue]? {
        let replies = try await pipeline([["multi"]] + commands + [["exec"]], timeout: nil)
        let exec = try replies[replies.count - 1].get().value
        if exec == .null { return nil }
        guard let results = exec.elements else { throw .unexpectedType(expected: "array", got: exec.typeName) }
        return results
    }

    /// `SCAN` as an AsyncSequence of keys (each key once per full iteration,
    /// as Redis guarantees for keys present throughout).
    public func scan(match: String? = nil, count: Int = 1000, type: String? = nil) -> RedisScanSequence<Self> {
        RedisScanSequence(sender: self, match: match, count: count, type: type)
    }
}

/// The keys of a `SCAN` iteration, fetched page by page as the consumer asks.
public struct RedisScanSequence<Sender: RedisCommandSending>: AsyncSequence, Sendable {
    public typealias Element = String
    let sender: Sender
    let match: String?, count: Int, type: String?

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(sequence: self)
    }

    /// Pages through the cursor.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: RedisScanSequence
        var cursor = "0"
        var page: [String] = []
        var started = false

        public mutating func next() async throws(RedisClientError) -> String? {
            while page.isEmpty {
                if started && cursor == "0" { return nil }
                started = true
                var command = ["scan", cursor, "count", String(sequence.count)]
                if let match = sequence.match { command += ["match", match] }
                if let type = sequence.type { command += ["type", type] }
                let reply = try await sequence.sender.send(command, timeout: nil).value
                guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let keys = parts[1].elements else {
                    throw .unexpectedType(expected: "SCAN reply [cursor, keys]", got: reply.typeName)
                }
                cursor = next
                page = keys.compactMap(\.string).reversed()
            }
            return page.removeLast()
        }
    }
}

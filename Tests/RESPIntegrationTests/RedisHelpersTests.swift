import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Testing

private let group = MultiThreadedEventLoopGroup.singleton

@Suite("Typed helpers, transactions, SCAN and RESP3 types against a real redis-server", .timeLimit(.minutes(3)))
struct RedisHelpersTests {
    @Test("every RESP3 type the server can send decodes (DEBUG PROTOCOL)")
    func serverTypes() async throws {
        try await withRedisServer(extraArguments: ["--enable-debug-command", "yes"]) { redis in
            let c = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            func proto(_ type: String) async throws -> RESPValue { try await c.command(["DEBUG", "PROTOCOL", type]).value }
            #expect(try await proto("string") == .bulkString(ByteBuffer(string: "Hello World")))
            #expect(try await proto("integer") == .integer(12345))
            #expect(try await proto("double") == .double(3.141))
            #expect(try await proto("bignum") == .bigNumber("1234567999999999999999999999999999999"))
            #expect(try await proto("null") == .null)
            #expect(try await proto("array") == .array([.integer(0), .integer(1), .integer(2)]))
            #expect(try await proto("set") == .set([.integer(0), .integer(1), .integer(2)]))
            #expect(try await proto("map") == .map([(.integer(0), .boolean(false)), (.integer(1), .boolean(true)), (.integer(2), .boolean(false))]))
            #expect(try await proto("true") == .boolean(true))
            #expect(try await proto("false") == .boolean(false))
            #expect(try await proto("verbatim") == .verbatimString(format: "txt", ByteBuffer(string: "This is a verbatim\nstring")))
            #expect(try await proto("attrib") == .attributed([(.bulkString(ByteBuffer(string: "key-popularity")),
                                                                .array([.bulkString(ByteBuffer(string: "key:123")), .integer(90)]))],
                                                              .bulkString(ByteBuffer(string: "Some real reply following the attribute"))))
            await c.close()
        }
    }

    @Test("helpers: strings, keys, hashes, lists, sets, blocking pops, ACL, server")
    func helpers() async throws {
        try await withRedisServer { redis in
            let client = RedisClient(endpoint: RedisEndpoint(.init(host: "127.0.0.1", port: redis.port)), group: group)
            #expect(try await client.set("a", "1", expireSeconds: 100))
            #expect(try await client.set("a", "2", condition: .ifNotExists) == false)
            #expect(try await client.set("b", "2", condition: .ifExists) == false)
            #expect(try await client.get("a") == "1")
            #expect((1...100).contains(try await client.ttl("a")))
            #expect(try await client.expire("a", seconds: 5))
            #expect(try await client.mget(["a", "missing"]) == ["1", nil])
            #expect(try await client.exists(["a", "missing"]) == 1)
            #expect(try await client.del(["a", "missing"]) == 1)
            #expect(try await client.ttl("a") == -2)
            #expect(try await client.hset("h", ["x": "1", "y": "2"]) == 2)
            #expect(try await client.hget("h", "x") == "1")
            #expect(try await client.hdel("h", ["x"]) == 1)
            #expect(try await client.hgetall("h") == ["y": "2"])
            #expect(try await client.hgetall("nothing") == [:])
            #expect(try await client.rpush("l", ["a", "b", "a"]) == 3)
            #expect(try await client.lpush("l", ["z"]) == 4)
            #expect(try await client.lrem("l", count: 0, "a") == 2)
            #expect(try await client.lrange("l", 0, -1) == ["z", "b"])
            #expect(try await client.blmove(from: "l", to: "m", .right, .left, timeout: .seconds(1)) == "b")
            let popped = try await client.brpop(["m"], timeout: .seconds(1))
            #expect(popped?.key == "m" && popped?.value == "b")
            #expect(try await client.brpop(["m"], timeout: .milliseconds(100)) == nil)
            #expect(try await client.sadd("s", ["b", "a", "a"]) == 2)
            #expect(try await client.srem("s", ["b"]) == 1)
            #expect(try await client.smembers("s") == ["a"])
            #expect(try await client.publish("nobody", "x") == 0)
            try await client.aclSetUser("module/t1", rules: ["on", ">pw", "~module/t1/*", "+@read"])
            #expect(try await client.aclList().contains { $0.hasPrefix("user module/t1 on") })
            #expect(try await client.aclDelUser(["module/t1"]) == 1)
            #expect(try await client.role() == "master")
            #expect(try await client.info("server").contains("redis_version:"))
            #expect(try await client.clientList().contains("cmd=client|list"))
            do {
                _ = try await client.get("h")
                Issue.record("GET on a hash succeeded")
            } catch {
                #expect((error as? RedisClientError)?.serverCode == "WRONGTYPE")
            }
            do {
                _ = try await client.ttl("h")
                _ = try await client.hgetall("l")
                Issue.record("HGETALL on a list succeeded")
            } catch {
                #expect((error as? RedisClientError)?.serverCode == "WRONGTYPE")
            }
            await client.close()
        }
    }

    @Test("MULTI/EXEC, and WATCH aborting a transaction on an exclusive connection")
    func transactions() async throws {
        try await withRedisServer { redis in
            let client = RedisClient(endpoint: RedisEndpoint(.init(host: "127.0.0.1", port: redis.port)), group: group)
            #expect(try await client.transaction([["SET", "k", "1"], ["INCR", "k"], ["GET", "k"]])
                    == [.simpleString(ByteBuffer(string: "OK")), .integer(2), .bulkString(ByteBuffer(string: "2"))])
            let aborted = try await client.withExclusiveConnection { c throws(RedisClientError) in
                _ = try await c.command(["WATCH", "k"])
                try await client.set("k", "changed")  // another connection
                return try await c.transaction([["SET", "k", "mine"]])
            }
            #expect(aborted == nil)
            #expect(try await client.get("k") == "changed")
            do {
                _ = try await client.transaction([["SET", "k"]])
                Issue.record("a queued syntax error did not abort")
            } catch {
                #expect((error as? RedisClientError)?.serverCode == "EXECABORT")
            }
            await client.close()
        }
    }

    @Test("SCAN over 10,000 keys yields each exactly once")
    func scan() async throws {
        try await withRedisServer { redis in
            let client = RedisClient(endpoint: RedisEndpoint(.init(host: "127.0.0.1", port: redis.port)), group: group)
            for batch in stride(from: 0, to: 10_000, by: 1000) {
                _ = try await client.pipeline((batch..<batch + 1000).map { ["SET", "module/m\($0)/k", "v"] })
            }
            _ = try await client.set("other", "x")
            var seen = Set<String>()
            var count = 0
            for try await key in client.scan(match: "module/*", count: 500) {
                seen.insert(key)
                count += 1
            }
            #expect(seen.count == 10_000)
            #expect(count == 10_000)
            #expect(!seen.contains("other"))
            var typed = 0
            for try await _ in client.scan(type: "hash") { typed += 1 }
            #expect(typed == 0)
            await client.close()
        }
    }
}

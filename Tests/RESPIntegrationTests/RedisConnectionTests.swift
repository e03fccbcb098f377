import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Testing

private let group = MultiThreadedEventLoopGroup.singleton

@Suite("Redis connection against a real redis-server", .timeLimit(.minutes(3)))
struct RedisConnectionTests {
    @Test("HELLO 3, commands and values")
    func basics() async throws {
        try await withRedisServer { redis in
            let c = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port,
                                                      configuration: .init(clientName: "nscore-test"), group: group)
            #expect(c.protocolVersion == 3)
            #expect(try await c.command(["PING"]).value == .simpleString(ByteBuffer(string: "PONG")))
            #expect(try await c.command(["SET", "k", "välue"]).value == .simpleString(ByteBuffer(string: "OK")))
            #expect(try await c.command(["GET", "k"]).value == .bulkString(ByteBuffer(string: "välue")))
            #expect(try await c.command(["GET", "missing"]).value == .null)
            #expect(try await c.command(["CLIENT", "GETNAME"]).value == .bulkString(ByteBuffer(string: "nscore-test")))
            #expect(try await c.command(["HSET", "h", "a", "1"]).value == .integer(1))
            #expect(try await c.command(["HGETALL", "h"]).value == .map([(.bulkString(ByteBuffer(string: "a")), .bulkString(ByteBuffer(string: "1")))]))
            await c.close()
        }
    }

    @Test("a pipeline of 1000 commands comes back in order, errors in place")
    func pipelining() async throws {
        try await withRedisServer { redis in
            let c = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            var batch = (0..<1000).map { _ in ["INCR", "counter"] }
            batch.insert(["NOSUCHCOMMAND"], at: 500)
            let results = try await c.pipeline(batch)
            #expect(results.count == 1001)
            var expected: Int64 = 1
            for (i, result) in results.enumerated() {
                if i == 500 {
                    #expect(throws: RedisClientError.self) { try result.get() }
                    #expect((try? result.get()) == nil)
                    if case .failure(let e) = result { #expect(e.serverCode == "ERR") }
                    continue
                }
                #expect(try result.get().value == .integer(expected))
                expected += 1
            }
            await c.close()
        }
    }

    @Test("ACL users: own namespace writable, others NOPERM, wrong password WRONGPASS")
    func aclUsers() async throws {
        try await withRedisServer { redis in
            let admin = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            _ = try await admin.command(["ACL", "SETUSER", "module/mail1", "on", ">s3cret", "~module/mail1/*", "+@all"])
            let agent = try await RedisConnection.connect(
                host: "127.0.0.1", port: redis.port,
                configuration: .init(username: "module/mail1", password: "s3cret"), group: group)
            #expect(try await agent.command(["SET", "module/mail1/x", "1"]).value == .simpleString(ByteBuffer(string: "OK")))
            do {
                _ = try await agent.command(["SET", "cluster/x", "1"])
                Issue.record("write outside the namespace succeeded")
            } catch let error as RedisClientError {
                #expect(error.serverCode == "NOPERM", "\(error)")
            }
            do {
                _ = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port,
                                                      configuration: .init(username: "module/mail1", password: "wrong"), group: group)
                Issue.record("wrong password accepted")
            } catch let error as RedisClientError {
                #expect(error.serverCode == "WRONGPASS", "\(error)")
            }
            await agent.close()
            await admin.close()
        }
    }

    @Test("a killed connection fails its pending command with connectionClosed")
    func connectionLoss() async throws {
        try await withRedisServer { redis in
            let a = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            let b = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            guard case .integer(let id) = try await a.command(["CLIENT", "ID"]).value else {
                Issue.record("CLIENT ID is not an integer")
                return
            }
            let blocked = Task { try await a.command(["BLPOP", "never", "0"]) }
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await b.command(["CLIENT", "KILL", "ID", String(id)]).value == .integer(1))
            await #expect(throws: RedisClientError.connectionClosed) { _ = try await blocked.value }
            await #expect(throws: RedisClientError.connectionClosed) { _ = try await a.command(["PING"]) }
            #expect(try await b.command(["PING"]).value == .simpleString(ByteBuffer(string: "PONG")))
            await b.close()
        }
    }

    @Test("a server that sends garbage gets a protocol error and the connection is closed")
    func malformedReply() async throws {
        let liar = try await TestServer(group: group) { [GarbageHandler()] }
        defer { Task { await liar.close() } }
        // The handshake's HELLO is the first victim.
        await #expect(throws: RedisClientError.protocolError(RESPParsingError(.unknownType(UInt8(ascii: "?")), at: 0))) {
            _ = try await RedisConnection.connect(host: "127.0.0.1", port: liar.port, group: group)
        }
    }
}

@Suite("Redis connection against a misbehaving server", .timeLimit(.minutes(3)))
struct RedisUnexpectedReplyTests {
    @Test("a reply nobody asked for closes the connection with a clear error")
    func unsolicited() async throws {
        let chatty = try await TestServer(group: group) { [DoubleReplyHandler()] }
        defer { Task { await chatty.close() } }
        // HELLO gets +OK and a second, unsolicited +OK: the handshake succeeds, the stray reply kills the connection.
        let c = try await RedisConnection.connect(host: "127.0.0.1", port: chatty.port, group: group)
        let closed = await waitFor { !c.channel.isActive }
        #expect(closed)
        await #expect(throws: RedisClientError.self) { _ = try await c.command(["PING"]) }
    }
}

/// Answers every read with two replies.
final class DoubleReplyHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "+OK\r\n+OK\r\n")), promise: nil)
    }
}

/// Answers anything with bytes that are not RESP.
final class GarbageHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "?garbage\r\n")), promise: nil)
    }
}

@Suite("Handshake fallback and pipeline builder", .timeLimit(.minutes(3)))
struct HandshakeFallbackTests {
    @Test("a server without HELLO gets RESP2 AUTH + CLIENT SETNAME, and works")
    func resp2Fallback() async throws {
        try await withRedisServer(extraArguments: ["--rename-command", "HELLO", ""]) { redis in
            let admin = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: .singletonMultiThreadedEventLoopGroup)
            #expect(admin.protocolVersion == 2)
            _ = try await admin.command(["ACL", "SETUSER", "module/m1", "on", ">pw", "~module/m1/*", "+@all"])
            let c = try await RedisConnection.connect(
                host: "127.0.0.1", port: redis.port,
                configuration: .init(username: "module/m1", password: "pw", clientName: "agent-m1", database: 0),
                group: .singletonMultiThreadedEventLoopGroup)
            #expect(c.protocolVersion == 2)
            #expect(try await c.command(["ACL", "WHOAMI"]).value.string == "module/m1")
            #expect(try await c.command(["CLIENT", "GETNAME"]).value.string == "agent-m1")
            // RESP2 renders HGETALL as a flat array; the helper reads both shapes.
            _ = try await c.command(["HSET", "module/m1/h", "a", "1"])
            #expect(try await c.hgetall("module/m1/h") == ["a": "1"])
            let wrong = RedisConnectionConfiguration(username: "module/m1", password: "bad")
            await #expect(throws: RedisClientError.self) {
                _ = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, configuration: wrong,
                                                      group: .singletonMultiThreadedEventLoopGroup)
            }
            await c.close()
            await admin.close()
        }
    }

    @Test("pipeline { } builds one batch")
    func builder() async throws {
        try await withRedisServer { redis in
            let c = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: .singletonMultiThreadedEventLoopGroup)
            let results = try await c.pipeline { p in
                p.add("SET", "k", "1")
                p.add("INCR", "k")
                p.add(["GET", "k"])
            }
            #expect(try results.map { try $0.get().value } == [.simpleString(ByteBuffer(string: "OK")), .integer(2), .bulkString(ByteBuffer(string: "2"))])
            await c.close()
        }
    }
}

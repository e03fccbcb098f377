import Foundation
import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Testing

private let group = MultiThreadedEventLoopGroup.singleton

/// Blocking commands get 1 s beyond their server-side timeout: with 0.3 s a loaded fresh-clone run had one
/// of this file's BRPOPs (timeouts of 0.1 to 2 s, which redis checks from its 10 Hz cron) fail as timed out.
private func endpoint(_ redis: RedisServer, timeout: TimeAmount = .seconds(5)) -> RedisEndpoint {
    RedisEndpoint(.init(host: "127.0.0.1", port: redis.port),
                  configuration: .init(commandTimeout: timeout, blockingMargin: .seconds(1)))
}

/// The server's `blocked_clients` (clients in a blocking command), nil when INFO fails.
private func blockedClients(_ redis: some RedisCommandSending) async -> Int? {
    guard let info = try? await redis.send("INFO", "clients"), case .verbatimString(_, let text) = info.value,
          let line = String(buffer: text).split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("blocked_clients:") })
    else { return nil }
    return Int(line.dropFirst("blocked_clients:".count))
}

@Suite("Redis client: timeouts, reconnect, pool, pub/sub", .timeLimit(.minutes(3)))
struct RedisClientTests {
    @Test("an overdue command fails with .timeout, the replies after it keep their order")
    func commandTimeout() async throws {
        try await withRedisServer { redis in
            let c = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            let observer = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            // A pop the server holds until we push: Redis reads nothing more from c until then.
            async let slow = c.command(["BLPOP", "release", "0"], timeout: .seconds(30))
            // Armed on the server before the PING is sent (the child task may start late on a loaded machine).
            let armed = await waitFor { await blockedClients(observer) == 1 }
            #expect(armed, "the BLPOP never reached the server")
            // Queued behind the pop: its earlier deadline must re-arm the one timer.
            let started = ContinuousClock.now
            await #expect(throws: RedisClientError.timeout) { try await c.command(["PING"], timeout: .milliseconds(100)) }
            // Its own 100 ms, not the pop's 30 s (without the re-arm the timer would wait for those):
            // the margin absorbs a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(5))
            _ = try await observer.command(["LPUSH", "release", "go"])
            await observer.close()
            let slowReply = try await slow
            #expect(slowReply.value == .array([.bulkString(ByteBuffer(string: "release")), .bulkString(ByteBuffer(string: "go"))]))
            #expect(c.isActive)
            let echo = try await c.command(["ECHO", "after"])
            #expect(echo.value == .bulkString(ByteBuffer(string: "after")))
            await c.close()
        }
    }

    @Test("an overdue pipeline fails with .timeout per command, its late replies are dropped, the connection stays usable")
    func pipelineTimeout() async throws {
        try await withRedisServer(extraArguments: ["--enable-debug-command", "yes"]) { redis in
            let c = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: group)
            let results = try await c.pipeline([["DEBUG", "SLEEP", "0.5"], ["PING"]], timeout: .milliseconds(200))
            #expect(results.count == 2)
            #expect(throws: RedisClientError.timeout) { try results[0].get() }
            #expect(throws: RedisClientError.timeout) { try results[1].get() }
            let echo = try await c.command(["ECHO", "in order"])
            #expect(echo.value == .bulkString(ByteBuffer(string: "in order")))
            await c.close()
        }
    }

    @Test("a blocking pop overdue on our side closes its connection, so a later item is not lost")
    func blockingTimeoutClosesConnection() async throws {
        try await withRedisServer { redis in
            let client = RedisClient(endpoint: endpoint(redis), group: group)
            // The server would block forever (timeout 0); we claim 0.2 s.
            await #expect(throws: RedisClientError.timeout) {
                try await client.blocking(["BRPOP", "q", "0"], serverTimeout: .milliseconds(200))
            }
            // The server drops the blocked client once it sees the close.
            let unblocked = await waitFor(timeout: .seconds(5)) { await blockedClients(client) == 0 }
            #expect(unblocked, "the server still has our BRPOP armed")
            _ = try await client.send("LPUSH", "q", "item")
            let length = try await client.send("LLEN", "q")
            #expect(length.value == .integer(1), "the abandoned BRPOP took the item")
            // A pop that the server ends itself returns nil and keeps the connection.
            let none = try await client.blocking(["BRPOP", "empty", "0.1"], serverTimeout: .milliseconds(100))
            #expect(none.value == .null)
            let popped = try await client.send("BRPOP", "q", "1")
            #expect(popped.value == .array([.bulkString(ByteBuffer(string: "q")), .bulkString(ByteBuffer(string: "item"))]))
            // Through plain send a blocking command is diverted to a leased
            // connection: the one pooled connection stays free meanwhile.
            let single = RedisClient(endpoint: endpoint(redis), group: group, poolSize: 1)
            _ = try await single.send("PING")
            async let blocked = single.send("BRPOP", "released", "0")
            // Armed on the server (seen through the other client) before the PING is sent.
            #expect(await waitFor { await blockedClients(client) == 1 }, "the BRPOP never reached the server")
            // Behind the BRPOP it would wait until the push below, which comes after it: so it would time out.
            let ping = try? await single.send(["PING"], timeout: .seconds(3))
            #expect(ping?.value == .simpleString(ByteBuffer(string: "PONG")), "PING waited behind the BRPOP")
            _ = try await client.send("LPUSH", "released", "x")
            #expect(try await blocked.value == .array([.bulkString(ByteBuffer(string: "released")), .bulkString(ByteBuffer(string: "x"))]))
            await single.close()
            await client.close()
        }
    }

    @Test("100 concurrent tasks, pipelined on the pool, each sees its own replies in order")
    func concurrentPipelines() async throws {
        try await withRedisServer { redis in
            let client = RedisClient(endpoint: endpoint(redis), group: group, poolSize: 3)
            try await withThrowingTaskGroup(of: Void.self) { (tasks: inout ThrowingTaskGroup<Void, any Error>) in
                for t in 0..<100 {
                    tasks.addTask {
                        let batch = (0..<50).map { _ in ["INCR", "counter/\(t)"] }
                        let replies = try await client.pipeline(batch)
                        for (i, r) in replies.enumerated() { #expect(try r.get().value == .integer(Int64(i + 1))) }
                        let single = try await client.send("INCR", "counter/\(t)")
                        #expect(single.value == .integer(51))
                    }
                }
                try await tasks.waitForAll()
            }
            await client.close()
        }
    }

    @Test("commands wait for a restarted server; with none they fail at their deadline, saying why")
    func reconnect() async throws {
        let redis = try await RedisServer()
        let client = RedisClient(endpoint: endpoint(redis, timeout: .seconds(8)), group: group,
                                 backoff: .init(initial: .milliseconds(50), maximum: .milliseconds(400)))
        _ = try await client.send("SET", "k", "v")
        await redis.kill9()
        // Let the client see the close (a command written before that fails
        // with .connectionClosed: it may or may not have run, so no retry).
        try await Task.sleep(for: .milliseconds(200))
        // Issued while the server is down: they wait, then run once it is back.
        async let first = client.send("SET", "k", "1")
        async let second = client.send("INCR", "n")
        try await Task.sleep(for: .milliseconds(700))
        try await redis.restart()
        let a = try await first, b = try await second
        #expect(a.value == .simpleString(ByteBuffer(string: "OK")))
        #expect(b.value == .integer(1))
        await redis.kill9()
        try await Task.sleep(for: .milliseconds(200))
        var started = ContinuousClock.now
        do {
            // Under load the client may not have seen the close yet: a command written on the
            // dead connection fails with .connectionClosed; the next one must wait and fail as below.
            for attempt in 1...3 {
                started = ContinuousClock.now
                do {
                    _ = try await client.send(["GET", "k"], timeout: .milliseconds(600))
                } catch .connectionClosed where attempt < 3 {
                    continue
                }
                break
            }
            Issue.record("a command succeeded with the server down")
        } catch {
            guard case .notConnected(let why) = error else { Issue.record("wrong error \(error)"); return }
            #expect(why.contains("127.0.0.1:\(redis.port)"))
            #expect(error.description.contains("unreachable"))
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        await client.close()
        await redis.stop()
    }

    @Test("pub/sub: delivery, patterns, and every subscription restored after kill -9 and restart", .timeLimit(.minutes(1)))
    func pubsubResubscribe() async throws {
        let redis = try await RedisServer()
        let client = RedisClient(endpoint: endpoint(redis), group: group,
                                 backoff: .init(initial: .milliseconds(50), maximum: .milliseconds(300)))
        let subscription = try await client.subscribe(channels: ["cluster/event/a"], patterns: ["module/*/event/*"])
        var events = subscription.makeAsyncIterator()
        _ = try await client.send("PUBLISH", "cluster/event/a", "one")
        _ = try await client.send("PUBLISH", "module/mail1/event/x", "two")
        #expect(await events.next() == .message(channel: "cluster/event/a", payload: ByteBuffer(string: "one"), pattern: nil))
        #expect(await events.next() == .message(channel: "module/mail1/event/x", payload: ByteBuffer(string: "two"),
                                                pattern: "module/*/event/*"))
        await redis.kill9()
        try await Task.sleep(for: .milliseconds(300))
        try await redis.restart()
        #expect(await events.next() == .resubscribed)
        _ = try await client.send("PUBLISH", "cluster/event/a", "three")
        _ = try await client.send("PUBLISH", "module/m2/event/y", "four")
        #expect(await events.next() == .message(channel: "cluster/event/a", payload: ByteBuffer(string: "three"), pattern: nil))
        #expect(await events.next() == .message(channel: "module/m2/event/y", payload: ByteBuffer(string: "four"),
                                                pattern: "module/*/event/*"))
        await subscription.close()
        #expect(await events.next() == nil)
        await client.close()
        await redis.stop()
    }

    @Test("a slow subscriber pauses reading instead of buffering without bound", .timeLimit(.minutes(1)))
    func pubsubBackpressure() async throws {
        try await withRedisServer { redis in
            let client = RedisClient(endpoint: endpoint(redis), group: group)
            let subscription = try await client.subscribe(channels: ["c"])
            let payload = String(repeating: "x", count: 1000)
            // 20 MB: more than the kernel's socket buffers, less than Redis's
            // 32 MB pub/sub output limit (which would disconnect us).
            for _ in 0..<20 {
                _ = try await client.pipeline((0..<1000).map { _ in ["PUBLISH", "c", payload] })
            }
            try await Task.sleep(for: .milliseconds(300))
            // With reads paused the server holds the rest in its output buffer for us.
            let list = try await client.send("CLIENT", "LIST", "TYPE", "pubsub")
            guard case .verbatimString(_, let text) = list.value,
                  let omem = String(buffer: text).split(separator: " ").first(where: { $0.hasPrefix("omem=") }),
                  let bytes = Int(omem.dropFirst(5)) else { Issue.record("no CLIENT LIST line"); return }
            #expect(bytes > 1 << 20, "the subscriber read everything although nobody consumed it")
            var received = 0
            for await event in subscription {
                if case .message = event { received += 1 }
                if received == 20_000 { break }
            }
            #expect(received == 20_000)
            await subscription.close()
            await client.close()
        }
    }
}

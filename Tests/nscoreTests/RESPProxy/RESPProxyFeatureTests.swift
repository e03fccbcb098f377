import Foundation
import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Testing

private let auth = "AUTH cluster \(ProxyHarness.clusterPassword)\r\n"

extension RESPProxySuites {
@Suite("nscore resp-proxy: transactions, blocking, pub/sub, limits", .timeLimit(.minutes(3)))
struct RESPProxyFeatureTests {
    @Test("MULTI/EXEC on one leader link; WATCH aborts EXEC when another client changed the key")
    func transactions() async throws {
        try await withProxy { h in
            let a = try RawClient(port: h.port)
            a.send(auth + "MULTI\r\nSET cluster/t 1\r\nINCR cluster/t\r\nGET cluster/t\r\nEXEC\r\n")
            #expect(await a.read(until: "$1\r\n2\r\n") == "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n")
            a.send("WATCH cluster/t\r\nGET cluster/t\r\n")
            #expect(await a.read(until: "$1\r\n2\r\n") == "+OK\r\n$1\r\n2\r\n")
            #expect(try await h.cluster("SET", "cluster/t", "changed") == "OK\n")
            a.send("MULTI\r\nSET cluster/t mine\r\nEXEC\r\nGET cluster/t\r\n")
            let aborted = await a.read(until: "changed\r\n")
            #expect(aborted == "+OK\r\n+QUEUED\r\n*-1\r\n$7\r\nchanged\r\n", "\(aborted)")
            a.send("DISCARD\r\n")
            #expect(await a.read(until: "\r\n") == "-ERR DISCARD without MULTI\r\n")
        }
    }

    @Test("BRPOP blocks on a link of its own, is woken by an LPUSH from another client, and holds back that client's next command")
    func blocking() async throws {
        try await withProxy { h in
            let a = try RawClient(port: h.port)
            a.send(auth + "BRPOP cluster/q 5\r\nGET cluster/after\r\n")
            #expect(await a.read(until: "+OK\r\n") == "+OK\r\n")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await h.cluster("SET", "cluster/after", "set-later") == "OK\n")
            #expect(try await h.cluster("LPUSH", "cluster/q", "item") == "1\n")
            let replies = await a.read(until: "set-later\r\n")
            #expect(replies == "*2\r\n$9\r\ncluster/q\r\n$4\r\nitem\r\n$9\r\nset-later\r\n", "\(replies)")
            // Other clients are not held up meanwhile.
            a.send("BRPOP cluster/q2 3\r\n")
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            #expect(try await h.cli(nil, ["GET", "cluster/after"]) == "set-later\n")
            #expect(ContinuousClock.now - started < .seconds(1))
        }
    }

    @Test("SUBSCRIBE/PSUBSCRIBE get what PUBLISH on the leader sends, RESP2 arrays and RESP3 pushes unchanged")
    func pubsub() async throws {
        try await withProxy { h in
            let two = try RawClient(port: h.port)
            two.send("SUBSCRIBE news\r\nPSUBSCRIBE cluster/event/*\r\n")
            #expect(await two.read(until: ":2\r\n") == "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$15\r\ncluster/event/*\r\n:2\r\n")
            let three = try RawClient(port: h.port)
            three.send("HELLO 3\r\nSUBSCRIBE news\r\n")
            _ = await three.read(until: ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
            // The subscribers are on the replica: the leader counts none, and replication delivers.
            _ = try await h.cli(h.leader.port, ["PUBLISH", "news", "hello"], user: "cluster", password: ProxyHarness.clusterPassword)
            #expect(await two.read(until: "hello\r\n") == "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
            #expect(await three.read(until: "hello\r\n") == ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
            _ = try await h.cli(h.leader.port, ["PUBLISH", "cluster/event/x", "e"], user: "cluster", password: ProxyHarness.clusterPassword)
            #expect(await two.read(until: "$1\r\ne\r\n") == "*4\r\n$8\r\npmessage\r\n$15\r\ncluster/event/*\r\n$15\r\ncluster/event/x\r\n$1\r\ne\r\n")
            // RESP2 subscribed: only pub/sub commands, as the server says; RESP3: ordinary commands still work.
            two.send("GET cluster/x\r\n")
            #expect(await two.read(until: "\r\n").hasPrefix("-ERR Can't execute 'get'"))
            three.send("PING\r\n")
            #expect(await three.read(until: "PONG\r\n") == "+PONG\r\n")
        }
    }

    @Test("malformed and oversized requests close only that client with Redis's protocol error")
    func badInput() async throws {
        try await withProxy(["--max-request-size", "4096"]) { h in
            let good = try RawClient(port: h.port)
            let bad = try RawClient(port: h.port)
            bad.send("*2\r\n$3\r\nGET\r\n+oops\r\n")
            #expect(await bad.read(until: "\r\n") == "-ERR Protocol error: expected '$', got '+'\r\n")
            #expect(await bad.isClosedByPeer())
            let huge = try RawClient(port: h.port)
            huge.send("*3\r\n$3\r\nSET\r\n$9\r\ncluster/h\r\n$100000\r\n" + String(repeating: "x", count: 10_000))
            #expect(await huge.read(until: "\r\n").hasPrefix("-ERR Protocol error: request larger than 4096 bytes"))
            #expect(await huge.isClosedByPeer())
            good.send("PING\r\n")
            #expect(await good.read(until: "\r\n") == "+PONG\r\n")
            #expect(h.log.contains("protocol error"))
        }
    }

    @Test("500 concurrent clients, each with a pipeline of its own, get their own replies in order")
    func manyClients() async throws {
        try await withProxy { h in
            _ = try await h.cluster("SET", "cluster/shared", "s")
            _ = await waitFor { (try? await h.cli(h.replica.port, ["GET", "cluster/shared"])) == "s\n" }
            let group = MultiThreadedEventLoopGroup.singleton
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for i in 0..<500 {
                    tasks.addTask {
                        let c = try await RedisConnection.connect(
                            host: "127.0.0.1", port: h.port,
                            configuration: .init(username: i % 2 == 0 ? "cluster" : nil,
                                                 password: i % 2 == 0 ? ProxyHarness.clusterPassword : nil), group: group)
                        let replies = try await c.pipeline([["ECHO", "c\(i)-a"], ["GET", "cluster/shared"], ["ECHO", "c\(i)-b"]])
                        let texts = try replies.map { try $0.get().value.string ?? "?" }
                        guard texts == ["c\(i)-a", "s", "c\(i)-b"] else { throw CommandFailed(command: "client \(i)", status: 1, output: "\(texts)") }
                        await c.close()
                    }
                }
                try await tasks.waitForAll()
            }
        }
    }

    @Test("status: clients by user, upstream links, routed counts")
    func status() async throws {
        try await withProxy { h in
            let a = try RawClient(port: h.port)
            a.send(auth + "SET cluster/s 1\r\n")
            _ = await a.read(until: "+OK\r\n+OK\r\n")
            let out = try await blockingPool.runIfActive { try runCommand(nscoreBinary, ["resp-proxy", "status", "--socket", h.statusSocket]).output }
            #expect(out.contains("\"cluster\": 1"), "\(out)")
            #expect(out.contains("\"leader\": \"127.0.0.1:\(h.leader.port)\""))
            #expect(out.contains("as cluster resp2 db0"))
        }
    }
}

}

extension RESPProxySuites {
@Suite("nscore resp-proxy: leader switch, replica loss, real clients", .timeLimit(.minutes(3)))
struct RESPProxyTopologyTests {
    @Test("leader-changed re-points new leader traffic without dropping clients")
    func leaderSwitch() async throws {
        try await withProxy { h in
            let second = try await RedisServer()
            defer { Task { await second.stop() } }
            try await ProxyHarness.loadACL(port: second.port)
            let c = try RawClient(port: h.port)
            c.send(auth + "SET cluster/before 1\r\n")
            #expect(await c.read(until: "+OK\r\n", count: 2) == "+OK\r\n+OK\r\n")
            _ = try await h.cli(h.leader.port, ["PUBLISH", "cluster/event/leader-changed", #"{"node_id":2,"endpoint":"127.0.0.1:\#(second.port)"}"#],
                          user: "cluster", password: ProxyHarness.clusterPassword)
            #expect(await waitFor { h.log.contains("leader changed: new leader traffic goes to 127.0.0.1:\(second.port)") }, "\(h.log)")
            c.send("SET cluster/after 2\r\n")
            #expect(await c.read(until: "\r\n") == "+OK\r\n", "the same client, not dropped")
            #expect(try await h.cli(second.port, ["GET", "cluster/after"]) == "2\n")
            #expect(try await h.cli(h.leader.port, ["GET", "cluster/after"], user: "cluster", password: ProxyHarness.clusterPassword) == "\n")
            let status = try await blockingPool.runIfActive { try runCommand(nscoreBinary, ["resp-proxy", "status", "--socket", h.statusSocket]).output }
            #expect(status.contains("\"leader\": \"127.0.0.1:\(second.port)\""))
            #expect(await waitFor(timeout: .seconds(5)) { h.log.contains("closing an idle link to the former leader") })
        }
    }

    @Test("SIGHUP re-reads REDIS_ADDRESS from --env-file")
    func sighup() async throws {
        let h = try await ProxyHarness.make()
        defer { Task { await h.close() } }
        let second = try await RedisServer()
        defer { Task { await second.stop() } }
        try await ProxyHarness.loadACL(port: second.port)
        let env = h.root + "/proxy.env"
        try "REDIS_ADDRESS=127.0.0.1:\(h.leader.port)\nREDIS_REPLICA_ADDRESS=127.0.0.1:\(h.replica.port)\n".write(toFile: env, atomically: true, encoding: .utf8)
        try await h.start(["--env-file", env])
        try "REDIS_ADDRESS=127.0.0.1:\(second.port)\n".write(toFile: env, atomically: true, encoding: .utf8)
        kill(h.proxy!.pid, SIGHUP)
        #expect(await waitFor { h.log.contains("leader changed: new leader traffic goes to 127.0.0.1:\(second.port)") }, "\(h.log)")
        #expect(try await h.cluster("SET", "cluster/hup", "1") == "OK\n")
        #expect(try await h.cli(second.port, ["GET", "cluster/hup"]) == "1\n")
    }

    @Test("replica down: public reads fall back to the leader, logged")
    func replicaDown() async throws {
        try await withProxy { h in
            #expect(try await h.cluster("SET", "cluster/k", "v") == "OK\n")
            _ = await waitFor { (try? await h.cli(h.replica.port, ["GET", "cluster/k"])) == "v\n" }
            #expect(try await h.cli(nil, ["GET", "cluster/k"]) == "v\n")
            await h.replica.kill9()
            let first = try await h.cli(nil, ["GET", "cluster/k"])
            // A read in flight when the replica died may fail; the next ones are served by the leader.
            let second = try await h.cli(nil, ["GET", "cluster/k"])
            #expect(second == "v\n", "first \(first), then \(second)\n\(h.log)")
            #expect(h.log.contains("unreachable: public reads go to the leader"))
            #expect(try await h.cli(nil, ["SET", "cluster/k", "w"]).contains("NOPERM"), "still the default user on the leader")
        }
    }

    @Test("redis-py through the proxy: AUTH, pipeline, transaction, pub/sub")
    func redisPy() async throws {
        try await withProxy { h in
            let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build-venv/bin/python").path
            #expect(FileManager.default.isExecutableFile(atPath: venv), "scripts/deps.sh makes the test venv with redis-py at \(venv)")
            let script = h.root + "/client.py"
            try """
                import redis, sys, time
                port, password = int(sys.argv[1]), sys.argv[2]
                anon = redis.Redis(port=port)
                try:
                    anon.set("cluster/py", "1"); print("anonymous write ran"); sys.exit(1)
                except redis.exceptions.NoPermissionError as e:
                    assert "no permissions" in str(e), e
                r = redis.Redis(port=port, username="cluster", password=password, decode_responses=True)
                p = r.pipeline(transaction=False)
                for i in range(100): p.set(f"cluster/py{i}", i)
                for i in range(100): p.get(f"cluster/py{i}")
                out = p.execute()
                assert out[100:] == [str(i) for i in range(100)], out[100:]
                t = r.pipeline(transaction=True)
                t.incr("cluster/pyn"); t.incr("cluster/pyn")
                assert t.execute() == [1, 2]
                sub = redis.Redis(port=port, decode_responses=True).pubsub()
                sub.subscribe("pychan")
                assert sub.get_message(timeout=2)["type"] == "subscribe"
                r.publish("pychan", "hi")
                m = sub.get_message(timeout=5)
                assert m and m["data"] == "hi", m
                try:
                    redis.Redis(port=port, username="cluster", password="wrong").ping(); sys.exit(1)
                except redis.exceptions.AuthenticationError:
                    pass
                print("ok")
                """.write(toFile: script, atomically: true, encoding: .utf8)
            let (status, output) = try await blockingPool.runIfActive { try runCommand(venv, [script, "\(h.port)", ProxyHarness.clusterPassword]) }
            #expect(status == 0 && output.hasSuffix("ok\n"), "\(output)\n\(h.log)")
        }
    }
}
}

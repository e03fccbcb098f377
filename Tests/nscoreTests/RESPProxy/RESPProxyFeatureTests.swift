import Foundation
import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Testing

private let auth = "AUTH cluster \(ProxyHarness.clusterPassword)\r\n"

@Suite("nscore resp-proxy: transactions, blocking, pub/sub, limits", .timeLimit(.minutes(3)))
struct RESPProxyFeatureTests {
    @Test("MULTI/EXEC on one leader link; WATCH aborts EXEC when another client changed the key")
    func transactions() async throws {
        try await withProxy { h in
            let a = try RawClient(port: h.port)
            a.send(auth + "MULTI\r\nSET cluster/t 1\r\nINCR cluster/t\r\nGET cluster/t\r\nEXEC\r\n")
            #expect(a.read(until: "$1\r\n2\r\n") == "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n")
            a.send("WATCH cluster/t\r\nGET cluster/t\r\n")
            #expect(a.read(until: "$1\r\n2\r\n") == "+OK\r\n$1\r\n2\r\n")
            #expect(try h.cluster("SET", "cluster/t", "changed") == "OK\n")
            a.send("MULTI\r\nSET cluster/t mine\r\nEXEC\r\nGET cluster/t\r\n")
            let aborted = a.read(until: "changed\r\n")
            #expect(aborted == "+OK\r\n+QUEUED\r\n*-1\r\n$7\r\nchanged\r\n", "\(aborted)")
            a.send("DISCARD\r\n")
            #expect(a.read(until: "\r\n") == "-ERR DISCARD without MULTI\r\n")
        }
    }

    @Test("BRPOP blocks on a link of its own, is woken by an LPUSH from another client, and holds back that client's next command")
    func blocking() async throws {
        try await withProxy { h in
            let a = try RawClient(port: h.port)
            a.send(auth + "BRPOP cluster/q 5\r\nGET cluster/after\r\n")
            #expect(a.read(until: "+OK\r\n") == "+OK\r\n")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try h.cluster("SET", "cluster/after", "set-later") == "OK\n")
            #expect(try h.cluster("LPUSH", "cluster/q", "item") == "1\n")
            let replies = a.read(until: "set-later\r\n")
            #expect(replies == "*2\r\n$9\r\ncluster/q\r\n$4\r\nitem\r\n$9\r\nset-later\r\n", "\(replies)")
            // Other clients are not held up meanwhile.
            a.send("BRPOP cluster/q2 3\r\n")
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            #expect(try h.cli(nil, ["GET", "cluster/after"]) == "set-later\n")
            #expect(ContinuousClock.now - started < .seconds(1))
        }
    }

    @Test("SUBSCRIBE/PSUBSCRIBE get what PUBLISH on the leader sends, RESP2 arrays and RESP3 pushes unchanged")
    func pubsub() async throws {
        try await withProxy { h in
            let two = try RawClient(port: h.port)
            two.send("SUBSCRIBE news\r\nPSUBSCRIBE cluster/event/*\r\n")
            #expect(two.read(until: ":2\r\n") == "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$15\r\ncluster/event/*\r\n:2\r\n")
            let three = try RawClient(port: h.port)
            three.send("HELLO 3\r\nSUBSCRIBE news\r\n")
            _ = three.read(until: ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
            // The subscribers are on the replica: the leader counts none, and replication delivers.
            _ = try h.cli(h.leader.port, ["PUBLISH", "news", "hello"], user: "cluster", password: ProxyHarness.clusterPassword)
            #expect(two.read(until: "hello\r\n") == "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
            #expect(three.read(until: "hello\r\n") == ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
            _ = try h.cli(h.leader.port, ["PUBLISH", "cluster/event/x", "e"], user: "cluster", password: ProxyHarness.clusterPassword)
            #expect(two.read(until: "$1\r\ne\r\n") == "*4\r\n$8\r\npmessage\r\n$15\r\ncluster/event/*\r\n$15\r\ncluster/event/x\r\n$1\r\ne\r\n")
            // RESP2 subscribed: only pub/sub commands, as the server says; RESP3: ordinary commands still work.
            two.send("GET cluster/x\r\n")
            #expect(two.read(until: "\r\n").hasPrefix("-ERR Can't execute 'get'"))
            three.send("PING\r\n")
            #expect(three.read(until: "PONG\r\n") == "+PONG\r\n")
        }
    }

    @Test("malformed and oversized requests close only that client with Redis's protocol error")
    func badInput() async throws {
        try await withProxy(["--max-request-size", "4096"]) { h in
            let good = try RawClient(port: h.port)
            let bad = try RawClient(port: h.port)
            bad.send("*2\r\n$3\r\nGET\r\n+oops\r\n")
            #expect(bad.read(until: "\r\n") == "-ERR Protocol error: expected '$', got '+'\r\n")
            #expect(bad.isClosedByPeer())
            let huge = try RawClient(port: h.port)
            huge.send("*3\r\n$3\r\nSET\r\n$9\r\ncluster/h\r\n$100000\r\n" + String(repeating: "x", count: 10_000))
            #expect(huge.read(until: "\r\n").hasPrefix("-ERR Protocol error: request larger than 4096 bytes"))
            #expect(huge.isClosedByPeer())
            good.send("PING\r\n")
            #expect(good.read(until: "\r\n") == "+PONG\r\n")
            #expect(h.log.contains("protocol error"))
        }
    }

    @Test("500 concurrent clients, each with a pipeline of its own, get their own replies in order")
    func manyClients() async throws {
        try await withProxy { h in
            _ = try h.cluster("SET", "cluster/shared", "s")
            _ = await waitFor { (try? h.cli(h.replica.port, ["GET", "cluster/shared"])) == "s\n" }
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
            _ = a.read(until: "+OK\r\n+OK\r\n")
            let out = try runCommand(nscoreBinary, ["resp-proxy", "status", "--socket", h.statusSocket]).output
            #expect(out.contains("\"cluster\": 1"), "\(out)")
            #expect(out.contains("\"leader\": \"127.0.0.1:\(h.leader.port)\""))
            #expect(out.contains("as cluster resp2 db0"))
        }
    }
}

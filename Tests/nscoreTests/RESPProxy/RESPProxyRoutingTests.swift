import Foundation
import NetTestSupport
import NIOPosix
import Testing

extension RESPProxySuites {
@Suite("nscore resp-proxy: routing and ACLs", .timeLimit(.minutes(3)))
struct RESPProxyRoutingTests {
    @Test("public reads go to the replica, writes to the leader (INFO commandstats on each)")
    func routing() async throws {
        try await withProxy { h in
            let sets = try await h.calls("set", on: h.leader.port)
            #expect(try await h.cluster("SET", "cluster/k", "v") == "OK\n")
            _ = await waitFor { (try? await h.cli(h.replica.port, ["GET", "cluster/k"])) == "v\n" }
            let replicaGets = try await h.calls("get", on: h.replica.port), leaderGets = try await h.calls("get", on: h.leader.port)
            #expect(try await h.cli(nil, ["GET", "cluster/k"]) == "v\n")
            let nowReplica = try await h.calls("get", on: h.replica.port), nowLeader = try await h.calls("get", on: h.leader.port)
            #expect(nowReplica == replicaGets + 1, "replica \(replicaGets) → \(nowReplica), leader \(leaderGets) → \(nowLeader)")
            #expect(try await h.calls("get", on: h.leader.port) == leaderGets)
            let stats = try await h.cli(h.leader.port, ["INFO", "commandstats"], user: "cluster", password: ProxyHarness.clusterPassword)
            #expect(try await h.calls("set", on: h.leader.port) == sets + 1, "\(stats)")
            // A private read of an authenticated user goes to the leader.
            #expect(try await h.cluster("SET", "task/x", "1") == "OK\n")
            let before = try await h.calls("get", on: h.leader.port)
            #expect(try await h.cluster("GET", "task/x") == "1\n")
            #expect(try await h.calls("get", on: h.leader.port) == before + 1)
        }
    }

    @Test("an unauthenticated write gets the server's own NOPERM text and runs nowhere; a wrong password is refused like the leader does")
    func refusals() async throws {
        try await withProxy { h in
            let sets = try await h.calls("set", on: h.leader.port)
            let direct = try await h.cli(h.replica.port, ["SET", "cluster/k", "v"])
            #expect(direct.contains("NOPERM"))
            #expect(try await h.cli(nil, ["SET", "cluster/k", "v"]) == direct)
            #expect(try await h.calls("set", on: h.leader.port) == sets)
            #expect(try await h.cli(h.leader.port, ["GET", "cluster/k"]) == "\n")
            let wrongDirect = try await h.cli(h.leader.port, ["PING"], user: "cluster", password: "nope")
            let wrong = try await h.cli(nil, ["PING"], user: "cluster", password: "nope")
            #expect(wrong == wrongDirect, "\(wrong) vs \(wrongDirect)")
            #expect(wrong.contains("WRONGPASS"))
            // The module user may write its own namespace only: the leader's ACL decides.
            #expect(try await h.cli(nil, ["SET", "module/mail1/k", "1"], user: "module/mail1", password: ProxyHarness.modulePassword) == "OK\n")
            let other = try await h.cli(nil, ["SET", "module/mail2/k", "1"], user: "module/mail1", password: ProxyHarness.modulePassword)
            #expect(other.contains("NOPERM"), "\(other)")
        }
    }

    @Test("read-your-writes: right after a write a public read goes to the leader; with it off, to the replica")
    func readYourWrites() async throws {
        for (flag, expectLeader) in [("on", true), ("off", false)] {
            try await withProxy(["--read-your-writes", flag, "--ryw-window", "5"]) { h in
                let leaderGets = try await h.calls("get", on: h.leader.port)
                let out = try await h.cli(nil, ["EVAL", "return 1", "0"], user: "cluster", password: ProxyHarness.clusterPassword)
                _ = out
                let pipeline = "AUTH cluster \(ProxyHarness.clusterPassword)\r\nSET cluster/ryw 1\r\nGET cluster/ryw\r\n"
                let c = try RawClient(port: h.port)
                c.send(pipeline)
                let replies = await c.read(until: "\r\n", count: 3)
                if expectLeader {
                    #expect(replies.hasPrefix("+OK\r\n+OK\r\n$1\r\n"), "the leader has the write: \(replies)")
                } else {
                    #expect(replies.hasPrefix("+OK\r\n+OK\r\n$"), "the replica may or may not have it yet: \(replies)")
                }
                #expect(try await h.calls("get", on: h.leader.port) == leaderGets + (expectLeader ? 1 : 0), "read-your-writes \(flag)")
            }
        }
    }

    @Test("session commands: HELLO 3 with AUTH and SETNAME, CLIENT GETNAME/ID, SELECT, RESET; RESP3 replies pass unchanged")
    func sessionCommands() async throws {
        try await withProxy { h in
            let c = try RawClient(port: h.port)
            c.send("HELLO 3 AUTH cluster \(ProxyHarness.clusterPassword) SETNAME app1\r\nCLIENT GETNAME\r\nSELECT 3\r\nSET cluster/db3 x\r\nHGETALL cluster/none\r\nSELECT 99\r\n")
            let reply = await c.read(until: "-ERR DB index is out of range\r\n")
            #expect(reply.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), "\(reply)")
            #expect(reply.contains("$5\r\nproto\r\n:3\r\n"))
            #expect(reply.contains("$4\r\napp1\r\n+OK\r\n+OK\r\n%0\r\n-ERR DB index is out of range\r\n"), "\(reply)")
            #expect(try await h.cli(h.leader.port, ["-n", "3", "GET", "cluster/db3"], user: "cluster", password: ProxyHarness.clusterPassword) == "x\n")
            c.send("RESET\r\nCLIENT GETNAME\r\nSET cluster/k v\r\n")
            let after = await c.read(until: "command\r\n")
            #expect(after.hasPrefix("+RESET\r\n$-1\r\n-NOPERM"), "\(after)")
        }
    }
}
}

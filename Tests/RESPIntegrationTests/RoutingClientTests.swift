import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Testing

private let group = MultiThreadedEventLoopGroup.singleton

/// `calls` of one command in `INFO commandstats`.
private func calls(_ command: String, _ stats: String) -> Int {
    guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
          let field = line.split(separator: ",").first?.split(separator: "=").last else { return 0 }
    return Int(field) ?? 0
}

@Suite("Routing client against a leader and its replica", .timeLimit(.minutes(3)))
struct RoutingClientTests {
    @Test("writes land on the leader, public reads on the replica, private reads on the leader; no ACL error")
    func routing() async throws {
        let leader = try await RedisServer(extraArguments: ["--repl-diskless-sync-delay", "0"])
        let replica = try await RedisServer(extraArguments: ["--replicaof", "127.0.0.1", "\(leader.port)",
                                                            "--masteruser", "cluster", "--masterauth", PlatformACL.clusterPassword])
        defer { Task { await leader.stop(); await replica.stop() } }
        let leaderAdmin = try await PlatformACL.load(port: leader.port)
        let replicaAdmin = try await PlatformACL.load(port: replica.port)
        try #require(await waitFor(timeout: .seconds(15)) {
            ((try? await replicaAdmin.info("replication")) ?? "").contains("master_link_status:up")
        })

        let settings = try RedisSettings(environment: [
            "REDIS_ADDRESS": "127.0.0.1:\(leader.port)", "REDIS_REPLICA_ADDRESS": "127.0.0.1:\(replica.port)",
            "REDIS_USER": "module/mail1", "REDIS_PASSWORD": PlatformACL.password(module: "mail1"),
        ])
        let client = RedisRoutingClient(settings: settings, group: group)
        _ = try await leaderAdmin.send("CONFIG", "RESETSTAT")
        _ = try await replicaAdmin.send("CONFIG", "RESETSTAT")

        #expect(try await client.set("module/mail1/greeting", "hello"))
        try await client.hset("module/mail1/srv/tcp/ldap", ["host": "127.0.0.1", "port": "636"])
        #expect(try await client.transaction([["INCR", "module/mail1/n"], ["INCR", "module/mail1/n"]])
                == [.integer(1), .integer(2)])
        #expect(await waitFor { (try? await client.get("module/mail1/greeting")) == "hello" })
        #expect(try await client.hgetall("module/mail1/srv/tcp/ldap") == ["host": "127.0.0.1", "port": "636"])
        #expect(try await client.get("task/module/mail1/1/context") == nil)
        #expect(try await client.lrange("module/mail1/tasks", 0, -1) == [])

        let leaderStats = try await leaderAdmin.info("commandstats")
        let replicaStats = try await replicaAdmin.info("commandstats")
        #expect(calls("set", leaderStats) == 1)
        #expect(calls("hset", leaderStats) == 1)
        #expect(calls("exec", leaderStats) == 1)
        #expect(calls("get", leaderStats) == 1, "only the private read goes to the leader")
        #expect(calls("get", replicaStats) >= 1)
        #expect(calls("hgetall", replicaStats) == 1)
        #expect(calls("lrange", replicaStats) == 1)
        #expect(calls("hgetall", leaderStats) == 0)

        // Subscriptions go to the replica and still see the leader's PUBLISH.
        let events = try await client.subscribe(patterns: ["module/mail1/event/*"])
        #expect(try await client.publish("module/mail1/event/ready", "{}") == 0)
        let first = try await withDeadline { () async -> RedisSubscriptionEvent? in
            var iterator = events.makeAsyncIterator()
            return await iterator.next()
        }
        #expect(first == .message(channel: "module/mail1/event/ready", payload: ByteBuffer(string: "{}"),
                                                  pattern: "module/mail1/event/*"))
        await events.close()
        await client.close()
        await leaderAdmin.close()
        await replicaAdmin.close()
    }

    @Test("without credentials, a write fails at once naming what is missing; public reads work")
    func missingCredentials() async throws {
        try await withRedisServer { redis in
            let admin = try await PlatformACL.load(port: redis.port)
            try await admin.set("cluster/leader", "1")
            let client = RedisRoutingClient(settings: try RedisSettings(environment: ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)"]),
                                            group: group)
            #expect(client.privileged == nil)
            do {
                try await client.set("module/mail1/x", "1")
                Issue.record("a write without credentials succeeded")
            } catch {
                guard case .missingCredentials(let what)? = error as? RedisClientError else { Issue.record("wrong error \(error)"); return }
                #expect(what.contains("REDIS_PASSWORD"))
            }
            #expect(try await client.get("cluster/leader") == "1")
            await client.close()
            await admin.close()
        }
    }

    @Test("REDIS_* settings: defaults and bad addresses")
    func settings() throws {
        let defaults = try RedisSettings(environment: [:])
        #expect(defaults.readOnly.address.description == "127.0.0.1:6379")
        #expect(defaults.privileged == nil)
        let agent = try RedisSettings(environment: ["AGENT_ID": "module/mail1", "REDIS_PASSWORD": "pw",
                                                    "REDIS_ADDRESS": "10.5.4.1", "REDIS_REPLICA_ADDRESS": "127.0.0.1:6380"])
        #expect(agent.privileged?.configuration.username == "module/mail1")
        #expect(agent.privileged?.address.description == "10.5.4.1:6379")
        #expect(agent.readOnly.address.port == 6380)
        #expect(agent.readOnly.configuration.password == nil)
        #expect(!"\(agent.privileged!)".contains("pw"))
        #expect(throws: RedisSettingsError.self) { try RedisSettings(environment: ["REDIS_ADDRESS": "host:notaport"]) }
    }
}

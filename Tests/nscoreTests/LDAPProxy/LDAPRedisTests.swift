import Foundation
import JSON
import Net
import NetTestSupport
import NIOCore
import NIOPosix
import RESP
import Synchronization
import Testing

/// Redis as the cluster has it for the proxy: the ACL users, domains, events.
private struct ClusterRedis {
    static let proxyPassword = "pw-ldapproxy1"
    let redis: RedisServer
    let admin: RedisConnection

    static func make() async throws -> ClusterRedis {
        let redis = try await RedisServer()
        let bootstrap = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: .singletonMultiThreadedEventLoopGroup)
        _ = try await bootstrap.command(["ACL", "SETUSER", "cluster", "on", ">cluster-secret", "~*", "&*", "+@all"])
        await bootstrap.close()
        let admin = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port,
                                                      configuration: .init(username: "cluster", password: "cluster-secret"),
                                                      group: .singletonMultiThreadedEventLoopGroup)
        _ = try await admin.command(["ACL", "SETUSER", "module/ldapproxy1", "ON", ">" + proxyPassword, "resetkeys", "~module/ldapproxy1/*",
                                     "%R~cluster/*", "%R~node/*", "%R~module/*", "resetchannels", "&module/ldapproxy1/event/*",
                                     "+@read", "+@write", "+@transaction", "+@connection", "+publish", "-@admin"])
        _ = try await admin.command(["ACL", "SETUSER", "default", "ON", "nopass", "resetkeys", "~cluster/*", "~node/*", "~module/*",
                                     "resetchannels", "&*", "nocommands", "+@read", "+@connection", "+subscribe", "+psubscribe", "-@admin"])
        return ClusterRedis(redis: redis, admin: admin)
    }

    var environment: [String: String] {
        ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)", "REDIS_PASSWORD": Self.proxyPassword, "MODULE_ID": "ldapproxy1", "NODE_ID": "1"]
    }

    @discardableResult
    func run(_ arguments: [String]) async throws -> RESPToken { try await admin.command(arguments) }

    func external(_ domain: String, providers: [String]) async throws {
        try await run(["HSET", "cluster/user_domain/ldap/\(domain)/conf", "schema", "rfc2307", "base_dn", SlapdServer.suffix,
                       "bind_dn", SlapdServer.serviceDN, "bind_password", SlapdServer.servicePassword, "tls", "off", "tls_verify", "on"])
        try await run(["DEL", "cluster/user_domain/ldap/\(domain)/providers"])
        try await run(["RPUSH", "cluster/user_domain/ldap/\(domain)/providers"] + providers)
    }

    func internalProvider(module: String, domain: String, port: Int, node: Int) async throws {
        try await run(["HSET", "module/\(module)/srv/tcp/ldap", "domain", domain, "schema", "rfc2307", "base_dn", SlapdServer.suffix,
                       "bind_dn", SlapdServer.serviceDN, "bind_password", SlapdServer.servicePassword, "tls", "off",
                       "tls_verify", "off", "node", "\(node)", "host", "127.0.0.1", "port", "\(port)"])
    }

    func portMap() async throws -> [String: Int] {
        let token = try await run(["HGETALL", "module/ldapproxy1/data/domain_port"])
        guard case .map(let pairs) = token.value else { return [:] }
        var map: [String: Int] = [:]
        for (k, v) in pairs {
            if case .bulkString(let key) = k, case .bulkString(let value) = v { map[String(buffer: key)] = Int(String(buffer: value)) }
        }
        return map
    }

    func close() async {
        await admin.close()
        await redis.stop()
    }
}

/// Collects the payloads of `user-domain-changed` events of the proxy.
private final class EventLog: Sendable {
    let subscription: RedisSubscription
    private let payloads = Mutex<[JSONValue]>([])

    init(client: RedisClient) async throws {
        subscription = try await client.subscribe(channels: ["module/ldapproxy1/event/user-domain-changed"])
        Task { [subscription, self] in
            for await event in subscription {
                if case .message(_, let payload, _) = event, let value = try? JSONValue.parse(String(buffer: payload)) {
                    payloads.withLock { $0.append(value) }
                }
            }
        }
    }

    var all: [JSONValue] { payloads.withLock { $0 } }

    func wait(count: Int) async -> Bool { await waitFor(timeout: .seconds(10)) { all.count >= count } }
}

extension LDAPProxySuites {
    @Suite("from Redis")
    struct FromRedis {
        @Test("domains from Redis (internal wins over external), the published port map and user-domain-changed events, live reload on the three events, ports kept across a restart")
        func cluster() async throws {
            let cluster = try await ClusterRedis.make()
            let subscriber = RedisClient(endpoint: RedisEndpoint(Endpoint(host: "127.0.0.1", port: cluster.redis.port)),
                                         group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
            defer { Task { await subscriber.close(); await cluster.close() } }
            try await withLDAP(slapds: 2) { slapds, h in
                // dir.test: internal (module openldap1 on node 1), also given externally with a dead provider: internal wins.
                try await cluster.internalProvider(module: "openldap1", domain: "dir.test", port: slapds[0].port, node: 1)
                try await cluster.external("dir.test", providers: ["127.0.0.1:1"])
                try await cluster.external("ext.test", providers: ["127.0.0.1:\(slapds[1].port)"])
                let events = try await EventLog(client: subscriber)

                try await h.start([], environment: cluster.environment)
                #expect(await events.wait(count: 1))
                #expect(events.all.first == (try JSONValue.parse(#"{"node_id":1,"domain":"dir.test","domains":["dir.test","ext.test"]}"#)))
                let dirPort = try #require(try await h.domainPort("dir.test"))
                let extPort = try #require(try await h.domainPort("ext.test"))
                #expect(try await cluster.portMap() == ["dir.test": dirPort, "ext.test": extPort])
                #expect(try await ldapsearch(dirPort, "(uid=user1)").output.contains("dn: uid=user1,"))
                #expect(try await ldapsearch(extPort, "(uid=user2)").output.contains("dn: uid=user2,"))
                #expect(try await ldapsearch(h.port, "(uid=user3)").status == 0)  // the default: dir.test, first by name

                // A new external domain, announced with ldap-provider-changed.
                try await cluster.external("new.test", providers: ["127.0.0.1:\(slapds[1].port)"])
                try await cluster.run(["PUBLISH", "cluster/event/ldap-provider-changed",
                                       #"{"domain":"new.test","key":"cluster/user_domain/ldap/new.test/providers"}"#])
                #expect(await events.wait(count: 2))
                #expect(events.all.last?["domains"] == .array([.string("new.test")]))
                let newPort = try #require(try await h.domainPort("new.test"))
                #expect(try await ldapsearch(newPort, "(uid=user4)").status == 0)

                // The internal provider moves (service-ldap-changed): the domain follows, its port stays.
                try await cluster.internalProvider(module: "openldap1", domain: "dir.test", port: slapds[1].port, node: 1)
                try await cluster.run(["PUBLISH", "module/openldap1/event/service-ldap-changed",
                                       #"{"domain":"dir.test","node":1,"key":"module/openldap1/srv/tcp/ldap"}"#])
                #expect(await h.waitForLog("domain dir.test updated: providers 127.0.0.1:\(slapds[1].port)"))
                #expect(try await h.domainPort("dir.test") == dirPort)

                // ext.test goes away (user-domain-changed).
                try await cluster.run(["DEL", "cluster/user_domain/ldap/ext.test/conf", "cluster/user_domain/ldap/ext.test/providers"])
                try await cluster.run(["PUBLISH", "cluster/event/user-domain-changed", #"{"domain":"ext.test","domains":["ext.test"]}"#])
                #expect(await events.wait(count: 3))
                #expect(events.all.last?["domains"] == .array([.string("ext.test")]))
                #expect(try await cluster.portMap() == ["dir.test": dirPort, "new.test": newPort])

                // A restart keeps the ports and announces nothing.
                #expect(await h.stop() == 0)
                try await h.start([], environment: cluster.environment)
                #expect(try await h.domainPort("dir.test") == dirPort)
                #expect(try await h.domainPort("new.test") == newPort)
                try await Task.sleep(for: .milliseconds(500))
                #expect(events.all.count == 3)
                #expect(!h.log.contains(Self.secret))
                await events.subscription.close()
            }
        }

        static let secret = SlapdServer.servicePassword

        @Test("Redis down at start: the default port answers unavailable, domains come once Redis is up")
        func redisLater() async throws {
            try await withLDAP { slapds, h in
                let port = freePort()
                let env = ["REDIS_ADDRESS": "127.0.0.1:\(port)", "REDIS_PASSWORD": ClusterRedis.proxyPassword, "MODULE_ID": "ldapproxy1"]
                try await h.start([], environment: env, loaded: false)
                #expect(try await refusalCode(port: h.port) == 52)
                #expect(await h.waitForLog("cannot load the user domains yet"))
                let redis = try await RedisServer(port: port)
                let admin = try await RedisConnection.connect(host: "127.0.0.1", port: port, group: .singletonMultiThreadedEventLoopGroup)
                _ = try await admin.command(["ACL", "SETUSER", "module/ldapproxy1", "ON", ">" + ClusterRedis.proxyPassword, "~*", "&*", "+@all"])
                _ = try await admin.command(["HSET", "module/openldap1/srv/tcp/ldap", "domain", "dir.test", "host", "127.0.0.1",
                                             "port", "\(slapds[0].port)"])
                #expect(await waitFor(timeout: .seconds(15)) { (try? await ldapsearch(h.port, "(uid=user1)"))?.status == 0 })
                await admin.close()
                await redis.stop()
            }
        }
    }
}

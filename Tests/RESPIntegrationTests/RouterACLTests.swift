import NetTestSupport
import NIOCore
import RESP
import Testing

/// Checks the routing decision of every command in the generated table
/// against the real ACL of the `default` user (`ACL DRYRUN`): a command the
/// router sends to the read-only endpoint must be allowed there, and a
/// command the `default` user may run must not be sent to the leader for a
/// reason the ACL contradicts.
@Suite("Router against the real ACL", .timeLimit(.minutes(3)))
struct RouterACLTests {
    /// A command line that satisfies the arity, with every argument `key`
    /// and key counts set to 1.
    static func sample(_ info: RedisCommandInfo, key: String) -> [String] {
        var argv = info.name.split(separator: "|").map(String.init)
        let count = max(info.arity >= 0 ? info.arity : -info.arity, argv.count)
        while argv.count < count { argv.append(key) }
        for spec in info.keySpecs {
            if case .index(let first) = spec.begin, case .keynum(let index, _, _) = spec.find {
                while argv.count <= first + index + 1 { argv.append(key) }
                argv[first + index] = "1"
            }
        }
        return argv
    }

    @Test("every command: read-only routes are allowed for default, default-allowed reads are not sent away")
    func everyCommand() async throws {
        try await withRedisServer { redis in
            let admin = try await PlatformACL.load(port: redis.port)
            let router = RedisRouter()
            var checked = 0, readOnly = 0
            for info in RedisCommandTable.all where !info.hasSubcommands {
                for key in ["cluster/k", "task/module/mail1/1/context"] {
                    let argv = Self.sample(info, key: key)
                    let decision = router.route(argv)
                    let dry = try await admin.pipeline([["ACL", "DRYRUN", "default"] + argv])[0]
                    // DRYRUN answers +OK, or a bulk string saying what is denied.
                    let allowed = (try? dry.get().value) == .simpleString(ByteBuffer(string: "OK"))
                    checked += 1
                    if decision.route == .readOnly {
                        readOnly += 1
                        #expect(allowed, "\(argv) routed read-only but the default user may not run it: \(dry)")
                    } else if allowed {
                        #expect(decision.reason != .notAllowedForDefault && decision.reason != .privateKey,
                                "\(argv) is allowed for default but routed privileged: \(decision.reason)")
                    }
                }
            }
            #expect(checked > 600)
            #expect(readOnly > 100)
            await admin.close()
        }
    }

    @Test("the documented examples")
    func examples() {
        let router = RedisRouter()
        #expect(router.route(["GET", "cluster/leader"]) == .init(route: .readOnly, reason: .publicRead))
        #expect(router.route(["hgetall", "module/mail1/srv/tcp/ldap"]).route == .readOnly)
        #expect(router.route(["MGET", "node/1/vpn", "task/x"]) == .init(route: .privileged, reason: .privateKey))
        #expect(router.route(["GET", "task/module/mail1/1/context"]).reason == .privateKey)
        #expect(router.route(["SET", "module/mail1/x", "1"]) == .init(route: .privileged, reason: .needsPrivilege))
        #expect(router.route(["BRPOP", "module/mail1/tasks", "5"]).reason == .needsPrivilege)
        #expect(router.route(["XREAD", "BLOCK", "0", "STREAMS", "cluster/s", "0"]).reason == .needsPrivilege)
        #expect(router.route(["MULTI"]).reason == .needsPrivilege)
        #expect(router.route(["EVAL_RO", "return 1", "0"]).reason == .needsPrivilege)
        #expect(router.route(["PUBLISH", "cluster/event/x", "{}"]).reason == .needsPrivilege)
        #expect(router.route(["SUBSCRIBE", "anything"]) == .init(route: .readOnly, reason: .subscription))
        #expect(router.route(["PSUBSCRIBE", "*/event/*"]).route == .readOnly)
        #expect(router.route(["CONFIG", "GET", "maxmemory"]).reason == .needsPrivilege)
        #expect(router.route(["PING"]).route == .readOnly)
        #expect(router.route(["SORT_RO", "cluster/l", "BY", "x*"]).reason == .unknowableKeys)
        #expect(router.route(["NOSUCHCOMMAND"]).reason == .unknownCommand)
        #expect(router.route(["ZUNION", "2", "cluster/a", "node/b"]).route == .readOnly)
        #expect(router.route(["ZUNION", "2", "cluster/a", "private/b"]).reason == .privateKey)
        #expect(router.route([ByteBuffer(string: "get"), ByteBuffer(string: "cluster/x")]).route == .readOnly)
    }

    @Test("key patterns")
    func patterns() {
        let p = RedisKeyPattern("cluster/*")
        #expect(p.matches("cluster/".utf8))
        #expect(p.matches("cluster/a/b".utf8))
        #expect(!p.matches("cluster".utf8))
        #expect(!p.matches("xcluster/a".utf8))
        #expect(RedisKeyPattern("a*b?c").matches("aXXbYc".utf8))
        #expect(!RedisKeyPattern("a*b?c").matches("aXXbc".utf8))
        #expect(RedisKeyPattern("a\\*").matches("a*".utf8))
        #expect(!RedisKeyPattern("a\\*").matches("ab".utf8))
    }

    @Test("the table knows key positions")
    func keys() {
        #expect(RedisCommandTable.info(for: ["MSET", "a", "1", "b", "2"])?.keys(in: ["MSET", "a", "1", "b", "2"]) == .indices([1, 3]))
        let eval = ["EVAL", "s", "2", "k1", "k2", "arg"]
        #expect(RedisCommandTable.info(for: eval)?.keys(in: eval) == .indices([3, 4]))
        let migrate = ["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"]
        // Key specs name the single-key slot (here empty) as well as the KEYS list.
        #expect(RedisCommandTable.info(for: migrate)?.keys(in: migrate) == .indices([3, 7, 8]))
        let xread = ["XREAD", "COUNT", "1", "STREAMS", "s1", "s2", "0", "0"]
        #expect(RedisCommandTable.info(for: xread)?.keys(in: xread) == .indices([4, 5]))
        #expect(RedisCommandTable.info(for: ["config", "get", "x"])?.name == "config|get")
        #expect(RedisCommandTable.generatedFrom.hasPrefix("7."))
    }
}

import Foundation
import JSON
import Net
import NIOPosix
import NetTestSupport
import RESP
import Testing

/// The test image: a create-module step that proves the module's agent runs
/// as its user with its own Redis credentials, an event handler, a user unit.
private let imageFiles: [String: (String, Int)] = [
    "actions/create-module/10configure": ("""
        #!/bin/sh
        set -e
        id -un > created-by.txt
        "$NSCORE" redis SET "module/$MODULE_ID/configured" yes >/dev/null
        echo '{"configured": true}'
        """, 0o755),
    "events/module-added/10log": ("#!/bin/sh\ncat >> event.log\n", 0o755),
    "systemd/user/demo.service": ("[Service]\nExecStart=/bin/sleep infinity\n", 0o644),
]

@Suite("Module lifecycle: add-module and remove-module through real agents", .serialized, .timeLimit(.minutes(6)))
struct ModuleLifecycleTests {
    @Test("add-module creates user, env, keys, ACL user and the tree, runs create-module as the module; remove-module leaves nothing")
    func addAndRemove() async throws {
        try #require(getuid() == 0, "module lifecycle tests create Unix users: they run as root (CI does)")
        try await withModules { h in
            try await h.pushImage("nstest", tag: "1.0", files: imageFiles,
                                  labels: ["org.nethserver.rootfull": "0", "org.nethserver.authorizations": "node:fwadm"])
            let events = RedisClient(endpoint: RedisEndpoint(Endpoint(host: "127.0.0.1", port: h.redis.port)),
                                     group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
            let subscription = try await events.subscribe(channels: ["cluster/event/module-added", "cluster/event/module-removed"])

            let added = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:1.0", "node": 1}"#)
            #expect(added.status == 0, "\(added.output)\n\(h.logs())")
            #expect(added.output.contains(#""module_id" : "nstest1""#) || added.output.contains(#""module_id": "nstest1""#), "\(added.output)")
            #expect(added.output.contains("@sha256:"), "image_url is pinned by digest: \(added.output)")

            // The pulled and unpacked image is gone once the step ended.
            #expect(try FileManager.default.contentsOfDirectory(atPath: h.root + "/work") == ["skopeo-policy.json"])
            // The Unix user, its home and the image's tree.
            let passwd = try await h.sh("getent passwd nstest1")
            #expect(passwd.contains(":/home/nstest1:"))
            let config = "/home/nstest1/.config"
            for path in ["actions/create-module/10configure", "events/module-added/10log", "systemd/user/demo.service",
                         "systemd/user/agent.service", "systemd/user/default.target.wants/agent.service"] {
                #expect(FileManager.default.fileExists(atPath: "\(config)/\(path)"), "\(path)")
            }
            // Files that systemd would act on (no systemd here): lingering and the enabled agent unit.
            #expect(FileManager.default.fileExists(atPath: "/var/lib/systemd/linger/nstest1"))
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(config)/state/agent.env")
            #expect(attributes[.posixPermissions] as? Int == 0o600)
            #expect(attributes[.ownerAccountName] as? String == "nstest1")
            #expect(try FileManager.default.attributesOfItem(atPath: "\(config)/state/box.key")[.posixPermissions] as? Int == 0o600)
            let env = try String(contentsOfFile: "\(config)/state/agent.env", encoding: .utf8)
            for key in ["AGENT_ID=module/nstest1", "REDIS_USER=module/nstest1", "REDIS_PASSWORD=", "REDIS_ADDRESS=127.0.0.1:",
                        "REDIS_REPLICA_ADDRESS=", "NODE_ID=1", "MODULE_ID=nstest1", "IMAGE_URL=\(h.registry)/nstest@sha256:"] {
                #expect(env.contains(key), "agent.env has \(key)")
            }
            let password = env.split(separator: "\n").first { $0.hasPrefix("REDIS_PASSWORD=") }!.dropFirst("REDIS_PASSWORD=".count)

            // Redis: node record, public key (matches the secret key), the ACL user as REDIS-LAYOUT.md says.
            #expect(try await h.admin.hget("cluster/module_node", "nstest1") == "1")
            let publicKey = try await h.admin.get("module/nstest1/public_key")
            let derived = try await h.sh("/usr/bin/python3 -c 'import base64,nacl.public,sys; print(base64.b64encode(bytes(nacl.public.PrivateKey(base64.b64decode(open(sys.argv[1]).read())).public_key)).decode())' \(config)/state/box.key")
            #expect(publicKey == derived.trimmingCharacters(in: .whitespacesAndNewlines))
            let aclList = try await h.sh("redis-cli -p \(h.redis.port) --user cluster --pass \(ModuleHarness.clusterPassword) --no-auth-warning ACL LIST")
            let acl = aclList.split(separator: "\n").first { $0.hasPrefix("user module/nstest1 ") }.map(String.init) ?? aclList
            for part in ["user module/nstest1 on #", "~module/nstest1/* ~task/module/nstest1/* %R~cluster/* %R~node/* %R~module/* %R~private/agents/*",
                         "resetchannels &progress/module/nstest1/* &module/nstest1/event/*", "+@read", "+@write", "+@transaction", "+@connection", "+publish"] {
                #expect(acl.contains(part), "\(part) in \(acl)")
            }
            #expect(!acl.contains("+@admin") && !acl.contains(String(password)), "\(acl)")
            let redisCLI = "redis-cli -p \(h.redis.port) --user module/nstest1 --pass \(password) --no-auth-warning"
            #expect(try await h.sh("\(redisCLI) SET module/nstest1/k v") == "OK\n")
            #expect(try await h.sh("\(redisCLI) SET module/other1/k v").contains("NOPERM"))
            #expect(try await h.sh("\(redisCLI) ACL LIST").contains("NOPERM"))

            // create-module ran in the module's own agent, as its user, with its credentials.
            #expect(try String(contentsOfFile: "\(config)/state/created-by.txt", encoding: .utf8) == "nstest1\n")
            #expect(try await h.admin.get("module/nstest1/configured") == "yes")
            var seen: [String] = []
            var iterator = subscription.makeAsyncIterator()
            func nextMessage() async {
                while let event = await iterator.next() {
                    if case .message(let channel, let payload, _) = event { seen.append("\(channel) \(String(buffer: payload))"); return }
                }
            }
            await nextMessage()
            #expect(seen == [#"cluster/event/module-added {"module":"nstest1","node":1}"#])

            // remove-module: no user, home, keys or ACL user.
            let removed = try await h.task("cluster", "remove-module", #"{"module_id": "nstest1", "preserve_data": false}"#)
            #expect(removed.status == 0, "\(removed.output)\n\(h.logs())")
            #expect(try await runCommandOffPool("/usr/bin/getent", ["passwd", "nstest1"]).status != 0)
            #expect(!FileManager.default.fileExists(atPath: "/home/nstest1"))
            #expect(!FileManager.default.fileExists(atPath: "/var/lib/systemd/linger/nstest1"))
            #expect(try await h.sh("redis-cli -p \(h.redis.port) --user cluster --pass \(ModuleHarness.clusterPassword) --no-auth-warning --scan --pattern 'module/nstest1/*'") == "")
            #expect(try await h.sh("redis-cli -p \(h.redis.port) --user cluster --pass \(ModuleHarness.clusterPassword) --no-auth-warning ACL LIST").contains("module/nstest1") == false)
            #expect(try await h.admin.hget("cluster/module_node", "nstest1") == nil)
            await nextMessage()
            #expect(seen.last == #"cluster/event/module-removed {"module":"nstest1","node":1}"#)
            await subscription.close()
            await events.close()
        }
    }

    @Test("bad input and an unreachable registry end in validation-failed with nothing created; concurrent adds get distinct ids")
    func refusalsAndConcurrency() async throws {
        try #require(getuid() == 0, "module lifecycle tests create Unix users: they run as root (CI does)")
        try await withModules { h in
            try await h.pushImage("nstest", tag: "1.0", files: imageFiles.filter { !$0.key.hasPrefix("actions/") })
            let missing = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:9.9", "node": 1}"#)
            #expect(missing.status == 10, "\(missing.output)")
            #expect(missing.output.contains("cannot read \(h.registry)/nstest:9.9"), "\(missing.output)")
            let badNode = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:1.0", "node": 7}"#)
            #expect(badNode.status == 10, "\(badNode.output)")
            #expect(badNode.output.contains("no agent node/7 is listening"), "\(badNode.output)")
            let noImage = try await h.task("cluster", "add-module", #"{"node": 1}"#)
            #expect(noImage.status == 10, "\(noImage.output)")
            try await h.pushImage("nstest", tag: "badlabel", files: imageFiles, labels: ["org.nethserver.rootfull": "maybe"])
            let badLabel = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:badlabel", "node": 1}"#)
            #expect(badLabel.status == 10, "\(badLabel.output)")
            #expect(badLabel.output.contains("org.nethserver.rootfull must be 0 or 1, not 'maybe'"), "\(badLabel.output)")
            #expect(try await h.admin.get("cluster/module_sequence/nstest") == nil, "nothing allocated for refused requests")

            // Two at once: distinct ids from cluster/module_sequence/nstest.
            async let a = h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:1.0", "node": 1}"#)
            async let b = h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:1.0", "node": 1}"#)
            let (ra, rb) = try await (a, b)
            #expect(ra.status == 0 && rb.status == 0, "\(ra.output)\n\(rb.output)\n\(h.logs())")
            let ids = Set([ra.output, rb.output].compactMap { out in ["nstest1", "nstest2"].first { out.contains("\"\($0)\"") } })
            #expect(ids == ["nstest1", "nstest2"], "\(ra.output) \(rb.output)")

            await h.stopRegistry()
            let down = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:1.0", "node": 1}"#)
            #expect(down.status == 10, "\(down.output)")
            #expect(down.output.contains("cannot read"), "\(down.output)")
            #expect(try await h.admin.get("cluster/module_sequence/nstest") == "2", "nothing allocated while the registry is down")
            #expect(try await runCommandOffPool("/usr/bin/getent", ["passwd", "nstest3"]).status != 0)

            for id in ["nstest1", "nstest2"] {
                let r = try await h.task("cluster", "remove-module", #"{"module_id": "\#(id)"}"#)
                #expect(r.status == 0, "\(r.output)")
            }
        }
    }

    @Test("a failing create-module fails add-module and leaves a state that remove-module cleans")
    func failedCreateIsCleanedUp() async throws {
        try #require(getuid() == 0, "module lifecycle tests create Unix users: they run as root (CI does)")
        try await withModules { h in
            var files = imageFiles
            files["actions/create-module/10configure"] = ("#!/bin/sh\necho 'cannot configure' >&2\nexit 3\n", 0o755)
            try await h.pushImage("nstest", tag: "bad", files: files)
            let added = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:bad", "node": 1}"#)
            #expect(added.status == 1, "\(added.output)")
            #expect(added.output.contains("module/nstest1 create-module failed (exit 3): cannot configure"), "\(added.output)")
            #expect(try await runCommandOffPool("/usr/bin/getent", ["passwd", "nstest1"]).status == 0, "left for remove-module")
            #expect(try await h.admin.hget("cluster/module_node", "nstest1") == "1")

            let removed = try await h.task("cluster", "remove-module", #"{"module_id": "nstest1"}"#)
            #expect(removed.status == 0, "\(removed.output)\n\(h.logs())")
            #expect(try await runCommandOffPool("/usr/bin/getent", ["passwd", "nstest1"]).status != 0)
            #expect(!FileManager.default.fileExists(atPath: "/home/nstest1"))
            #expect(try await h.admin.hget("cluster/module_node", "nstest1") == nil)
            #expect(try await h.sh("redis-cli -p \(h.redis.port) --user cluster --pass \(ModuleHarness.clusterPassword) --no-auth-warning ACL LIST").contains("module/nstest1") == false)
        }
    }

    @Test("update-module with a second tag replaces actions, keeps state and credentials, runs the module's update-module")
    func update() async throws {
        try #require(getuid() == 0, "module lifecycle tests create Unix users: they run as root (CI does)")
        try await withModules { h in
            var v1 = imageFiles
            v1["actions/only-in-v1/10step"] = ("#!/bin/sh\ntrue\n", 0o755)
            try await h.pushImage("nstest", tag: "1.0", files: v1)
            var v2 = imageFiles
            v2["actions/update-module/10mark"] = ("#!/bin/sh\ncat > updated.json\n", 0o755)
            try await h.pushImage("nstest", tag: "2.0", files: v2)
            let added = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:1.0", "node": 1}"#)
            try #require(added.status == 0, "\(added.output)\n\(h.logs())")
            let config = "/home/nstest1/.config"
            let envBefore = try String(contentsOfFile: "\(config)/state/agent.env", encoding: .utf8)

            let updated = try await h.task("cluster", "update-module", #"{"module_id": "nstest1", "image_url": "\#(h.registry)/nstest:2.0"}"#)
            #expect(updated.status == 0, "\(updated.output)\n\(h.logs())")
            #expect(FileManager.default.fileExists(atPath: "\(config)/actions/update-module/10mark"))
            #expect(!FileManager.default.fileExists(atPath: "\(config)/actions/only-in-v1"), "the old tree is gone")
            #expect(!FileManager.default.fileExists(atPath: "\(config)/.update-old") && !FileManager.default.fileExists(atPath: "\(config)/.update-new"))
            #expect(FileManager.default.fileExists(atPath: "\(config)/systemd/user/default.target.wants/agent.service"))
            #expect(try String(contentsOfFile: "\(config)/state/created-by.txt", encoding: .utf8) == "nstest1\n", "state kept")
            let envAfter = try String(contentsOfFile: "\(config)/state/agent.env", encoding: .utf8)
            let password = { (env: String) in env.split(separator: "\n").first { $0.hasPrefix("REDIS_PASSWORD=") } }
            #expect(password(envBefore) == password(envAfter), "credentials kept")
            // The module's update-module got the new image (its agent keeps its old environment until restarted).
            let data = try JSONValue.parse(try String(contentsOfFile: "\(config)/state/updated.json", encoding: .utf8))
            guard case .string(let newURL)? = data["image_url"] else { Issue.record("no image_url in \(data)"); return }
            #expect(newURL.hasPrefix("\(h.registry)/nstest@sha256:") && envAfter.contains("IMAGE_URL=\(newURL)\n"), "\(newURL) / \(envAfter)")
            #expect(!envBefore.contains(newURL))
            #expect(envBefore != envAfter)

            let removed = try await h.task("cluster", "remove-module", #"{"module_id": "nstest1"}"#)
            #expect(removed.status == 0, "\(removed.output)")
        }
    }

    @Test("a rootfull module lives in /var/lib/nethserver/ID as root: no Unix user, agent@ID enabled, create-module as root; remove-module cleans it")
    func rootfull() async throws {
        try #require(getuid() == 0, "module lifecycle tests create Unix users: they run as root (CI does)")
        try await withModules { h in
            try await h.pushImage("nstest", tag: "root", files: imageFiles, labels: ["org.nethserver.rootfull": "1"])
            let added = try await h.task("cluster", "add-module", #"{"image": "\#(h.registry)/nstest:root", "node": 1}"#)
            #expect(added.status == 0, "\(added.output)\n\(h.logs())")
            let home = "/var/lib/nethserver/nstest1"
            #expect(try await runCommandOffPool("/usr/bin/getent", ["passwd", "nstest1"]).status != 0, "no Unix user for a rootfull module")
            let env = try FileManager.default.attributesOfItem(atPath: home + "/state/agent.env")
            #expect(env[.posixPermissions] as? Int == 0o600)
            #expect(env[.ownerAccountName] as? String == "root")
            #expect(FileManager.default.fileExists(atPath: home + "/actions/create-module/10configure"))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/etc/systemd/system/multi-user.target.wants/agent@nstest1.service")) != nil)
            #expect(try String(contentsOfFile: home + "/state/created-by.txt", encoding: .utf8) == "root\n")
            #expect(try await h.admin.get("module/nstest1/configured") == "yes")

            let removed = try await h.task("cluster", "remove-module", #"{"module_id": "nstest1"}"#)
            #expect(removed.status == 0, "\(removed.output)\n\(h.logs())")
            #expect(!FileManager.default.fileExists(atPath: home))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/etc/systemd/system/multi-user.target.wants/agent@nstest1.service")) == nil)
        }
    }
}

import Foundation
import NetTestSupport
import RESP
import Testing

/// A cluster of one node for module lifecycle tests: redis-server with the
/// platform's ACL users, Debian's docker-registry on a free loopback port
/// with a test image built by umoci + skopeo (no daemon), and the real
/// `nscore agent` as `cluster` and `node/1` with the shipped core actions.
/// There is no systemd here, so the harness plays its part: once the node
/// wrote a module's agent.env it starts that module's agent as the module's
/// user with runuser, as the installed user unit would.
final class ModuleHarness: @unchecked Sendable {
    static let clusterPassword = "cluster-pw"
    static let nodePassword = "node1-pw"
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    let redis: RedisServer
    let root: String
    let registryPort: Int
    private(set) var admin: RedisConnection
    private var processes: [ExternalProcess] = []
    private var moduleAgents: [String: ExternalProcess] = [:]
    private var watcher: Task<Void, Never>?

    private init(redis: RedisServer, root: String, registryPort: Int, admin: RedisConnection) {
        self.redis = redis
        self.root = root
        self.registryPort = registryPort
        self.admin = admin
    }

    static func make() async throws -> ModuleHarness {
        let redis = try await RedisServer()
        let root = try makeTempDirectory(prefix: "nscore-modules")
        chmod(root, 0o755)
        let boot = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: .singletonMultiThreadedEventLoopGroup)
        _ = try await boot.command(["ACL", "SETUSER", "cluster", "on", ">" + clusterPassword, "~*", "&*", "+@all"])
        _ = try await boot.command(["ACL", "SETUSER", "node/1", "on", ">" + nodePassword, "resetkeys", "~node/1/*", "~task/node/1/*",
                                    "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/nodes/*", "%R~private/agents/*",
                                    "resetchannels", "&progress/node/1/*", "&node/1/event/*", "+@read", "+@write",
                                    "+@transaction", "+@connection", "+publish", "-@admin"])
        _ = try await boot.command(["ACL", "SETUSER", "default", "ON", "nopass", "resetkeys", "~cluster/*", "~node/*", "~module/*",
                                    "resetchannels", "&*", "nocommands", "+@read", "+@connection", "+subscribe", "+psubscribe", "-@admin"])
        await boot.close()
        let admin = try await RedisConnection.connect(
            host: "127.0.0.1", port: redis.port, configuration: .init(username: "cluster", password: clusterPassword),
            group: .singletonMultiThreadedEventLoopGroup)
        let harness = ModuleHarness(redis: redis, root: root, registryPort: freePort(), admin: admin)
        try await harness.startRegistry()
        // nscore as `make install` lays it out (DESTDIR in the test directory): the agents run the installed actions.
        try await harness.sh("DESTDIR=\(root)/install \(repo)/scripts/install.sh \(nscoreBinary) >/dev/null")
        try await harness.startAgent("cluster", password: clusterPassword, actions: harness.share + "/actions/cluster")
        try await harness.startAgent("node/1", password: nodePassword, actions: harness.share + "/actions/node")
        harness.watchModules()
        return harness
    }

    var registry: String { "127.0.0.1:\(registryPort)" }
    /// The installed nscore (world-readable: module users run it too) and its shared files.
    var binary: String { root + "/install/usr/local/bin/nscore" }
    var share: String { root + "/install/usr/local/share/nscore" }

    private func startRegistry() async throws {
        try FileManager.default.createDirectory(atPath: root + "/registry", withIntermediateDirectories: true)
        try """
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: \(root)/registry
            http:
              addr: 127.0.0.1:\(registryPort)
            """.write(toFile: root + "/registry.yml", atomically: true, encoding: .utf8)
        processes.append(try ExternalProcess("/usr/bin/docker-registry", ["serve", root + "/registry.yml"], logPath: root + "/registry.log"))
        let up = await waitFor(timeout: .seconds(10)) { (try? await rawExchange(port: self.registryPort, send: "GET /v2/ HTTP/1.0\r\n\r\n", expect: 12)) != nil }
        guard up else { throw ModuleHarnessError.setup("docker-registry did not start: \(log("registry.log"))") }
    }

    func stopRegistry() async {
        await processes.first?.stop()
    }

    /// Builds an image with umoci (files from `files`: path under imageroot → (content, mode)) and pushes it as NAME:TAG.
    func pushImage(_ name: String, tag: String, files: [String: (String, Int)], labels: [String: String] = [:]) async throws {
        let dir = root + "/build-\(name)-\(tag)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try await sh("umoci init --layout \(dir)/img && umoci new --image \(dir)/img:\(tag) && umoci unpack --rootless --image \(dir)/img:\(tag) \(dir)/bundle")
        for (path, (content, mode)) in files {
            let full = "\(dir)/bundle/rootfs/imageroot/\(path)"
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: true, encoding: .utf8)
            chmod(full, mode_t(mode))
        }
        let labelArgs = labels.map { "--config.label '\($0.key)=\($0.value)'" }.joined(separator: " ")
        try await sh("umoci repack --image \(dir)/img:\(tag) \(dir)/bundle" + (labels.isEmpty ? "" : " && umoci config --image \(dir)/img:\(tag) \(labelArgs)"))
        try #"{"default":[{"type":"insecureAcceptAnything"}]}"#.write(toFile: dir + "/policy.json", atomically: true, encoding: .utf8)
        try await sh("skopeo --policy \(dir)/policy.json copy --quiet --dest-tls-verify=false oci:\(dir)/img:\(tag) docker://\(registry)/\(name):\(tag)")
    }

    @discardableResult
    func sh(_ script: String) async throws -> String {
        let result = try await runCommandOffPool("/bin/sh", ["-c", script])
        guard result.status == 0 else { throw ModuleHarnessError.setup("\(script): \(result.output)") }
        return result.output
    }

    private func startAgent(_ id: String, password: String, actions: String) async throws {
        let state = root + "/" + id.replacingOccurrences(of: "/", with: "-")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "REDIS_ADDRESS": "127.0.0.1:\(redis.port)", "REDIS_USER": id,
                   "REDIS_PASSWORD": password, "AGENT_POLLING_INTERVAL": "1s", "NSCORE": binary,
                   "NSCORE_SHARE_DIR": share, "NSCORE_WORK_DIR": root + "/work"]
        let process = try ExternalProcess(binary, ["agent", "--agentid=\(id)", "--actionsdir=\(actions)", "--eventsdir=\(state)/events"],
                                          environment: env, logPath: "\(root)/\(id.replacingOccurrences(of: "/", with: "-")).log",
                                          workingDirectory: state)
        processes.append(process)
        let up = await waitFor(timeout: .seconds(10)) { await self.isListening(id) }
        guard up else { throw ModuleHarnessError.setup("agent \(id) did not start: \(process.log)") }
    }

    func isListening(_ id: String) async -> Bool {
        guard let list = try? await admin.command(["CLIENT", "LIST"]).value.string else { return false }
        return list.split(separator: "\n").contains { $0.contains("name=\(id) ") && $0.contains("cmd=brpop") }
    }

    /// systemd's part: start a module's agent as its user once its agent.env exists.
    /// The module user runs the installed copy in the (world-readable) test directory:
    /// the build directory may sit under a home only root can enter.
    private func watchModules() {
        watcher = Task { [weak self] in
            while !Task.isCancelled, let self {
                for home in (try? FileManager.default.contentsOfDirectory(atPath: "/home")) ?? [] where home.hasPrefix("nstest") {
                    let state = "/home/\(home)/.config/state"
                    guard moduleAgents[home] == nil, FileManager.default.fileExists(atPath: state + "/agent.env"),
                          FileManager.default.fileExists(atPath: "/home/\(home)/.config/systemd/user/default.target.wants/agent.service") else { continue }
                    startModuleAgent(home, state: state, asUser: true)
                }
                // Rootfull modules: agent@ID as root, once its unit is enabled.
                for id in (try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/nethserver")) ?? [] where id.hasPrefix("nstest") {
                    let state = "/var/lib/nethserver/\(id)/state"
                    guard moduleAgents[id] == nil, FileManager.default.fileExists(atPath: state + "/agent.env"),
                          (try? FileManager.default.destinationOfSymbolicLink(atPath: "/etc/systemd/system/multi-user.target.wants/agent@\(id).service")) != nil
                    else { continue }
                    startModuleAgent(id, state: state, asUser: false)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func startModuleAgent(_ id: String, state: String, asUser: Bool) {
        let script = "cd \(state) && set -a && . ./agent.env && exec \(binary) agent --agentid=$AGENT_ID --actionsdir=../actions --eventsdir=../events"
        let (path, args) = asUser ? ("/usr/sbin/runuser", ["-u", id, "--", "/bin/sh", "-c", script]) : ("/bin/sh", ["-c", script])
        if let p = try? ExternalProcess(path, args, environment: ["PATH": "/usr/bin:/bin", "AGENT_POLLING_INTERVAL": "1s", "NSCORE": binary],
                                        logPath: "\(root)/module-\(id).log") {
            moduleAgents[id] = p
        }
    }

    /// Runs a task on an agent through `nscore task run`; returns exit status, stdout+stderr.
    func task(_ agent: String, _ action: String, _ data: String, timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let env = ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)", "REDIS_USER": "cluster", "REDIS_PASSWORD": Self.clusterPassword]
        let out = root + "/task-\(UUID().uuidString.prefix(8)).log"
        let p = try ExternalProcess(nscoreBinary, ["task", "run", agent, action, "--data", data], environment: env, logPath: out)
        let status = await p.waitForExit(timeout: timeout)
        return (status, p.log)
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: root + "/" + name, encoding: .utf8)) ?? "" }

    func logs() -> String {
        (["cluster.log", "node-1.log"] + moduleAgents.keys.sorted().map { "module-\($0).log" })
            .map { "--- \($0)\n" + log($0) }.joined(separator: "\n")
    }

    func close() async {
        watcher?.cancel()
        // Leave no test user behind, whatever happened.
        for (user, agent) in moduleAgents {
            await agent.stop()
            _ = try? await sh("pkill -KILL -u \(user) 2>/dev/null; userdel -r \(user) 2>/dev/null; rm -rf /var/lib/nethserver/\(user) /etc/systemd/system/multi-user.target.wants/agent@\(user).service; true")
        }
        for p in processes.reversed() { await p.stop() }
        await admin.close()
        await redis.stop()
        if ProcessInfo.processInfo.environment["NSCORE_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(atPath: root) }
    }
}

enum ModuleHarnessError: Error, CustomStringConvertible {
    case setup(String)
    var description: String { if case .setup(let s) = self { s } else { "" } }
}

func withModules<T>(_ body: (ModuleHarness) async throws -> T) async throws -> T {
    // Leftovers of an aborted earlier run would collide with the new ids.
    _ = try? await runCommandOffPool("/bin/sh", ["-c", "for u in $(getent passwd | cut -d: -f1 | grep '^nstest'); do pkill -KILL -u $u; userdel -r $u; done 2>/dev/null; rm -rf /var/lib/nethserver/nstest* /etc/systemd/system/multi-user.target.wants/agent@nstest*; true"])
    let harness = try await ModuleHarness.make()
    do {
        let result = try await body(harness)
        await harness.close()
        return result
    } catch {
        await harness.close()
        throw error
    }
}

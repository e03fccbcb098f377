public import JSON
import Net
import Secrets
#if canImport(Glibc)
import Glibc
#endif

/// The node side of module lifecycle (`node/N` actions add-module and
/// remove-module, run as root): Unix user, files, keys, the module agent.
/// Every step checks what is already there, so a failed run can be run again.
public struct NodeModules: Sendable {
    public var host: any ModuleHost
    public var images: ImageTool
    /// The node agent's environment (REDIS_ADDRESS, REDIS_REPLICA_ADDRESS, AGENT_ID = node/N).
    public var environment: [String: String]
    /// Where images are pulled and unpacked before they are put in place.
    public var workDirectory: String
    public var homeBase = "/home"
    public var rootfullBase = "/var/lib/nethserver"
    public var log: @Sendable (String) -> Void

    public init(host: any ModuleHost, images: ImageTool, environment: [String: String], workDirectory: String,
                log: @escaping @Sendable (String) -> Void) {
        self.host = host
        self.images = images
        self.environment = environment
        self.workDirectory = workDirectory
        self.log = log
    }

    /// `add-module {"module_id", "image_url", "is_rootfull", "environment"}` →
    /// `{"module_id", "redis_sha256", "public_key", "actions"}`. The module's
    /// Redis password is made here and written only to its agent.env; the
    /// cluster gets its SHA-256 for the ACL user.
    public func add(_ request: JSONValue) async throws(LifecycleError) -> JSONValue {
        guard case .string(let id)? = request["module_id"] else { throw .invalid(parameter: "module_id", "required") }
        try ModuleLayout.validate(id: id)
        guard case .string(let url)? = request["image_url"] else { throw .invalid(parameter: "image_url", "required") }
        let image = try ImageReference(parsing: url)
        let rootfull: Bool
        switch request["is_rootfull"] {
        case .bool(let b)?: rootfull = b
        case nil, .null?: rootfull = false
        default: throw .invalid(parameter: "is_rootfull", "must be true or false")
        }
        var extra: [(String, String)] = []
        if case .object(let pairs)? = request["environment"] {
            for (k, v) in pairs {
                guard case .string(let s) = v, !k.isEmpty, k.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw .invalid(parameter: "environment", "\(k) must be a NAME with a string value")
                }
                extra.append((k, s))
            }
        }
        let layout = ModuleLayout(id: id, rootfull: rootfull, homeBase: homeBase, rootfullBase: rootfullBase)

        // Pull first: an unknown image or an unreachable registry creates nothing.
        return try await withWorkDirectory("add-\(id)") { work throws(LifecycleError) in
            var phases = PhaseClock()
            let rootfs = try await pullAndExtract(image, work: work, phases: &phases)

            if rootfull {
                try Files.makeDirectory(layout.home, mode: 0o700)
            } else if try await !host.userExists(id) {
                try await host.createUser(id, home: layout.home)
                log("created user \(id) with home \(layout.home)")
            }
            phases.mark("user")
            try Files.makeDirectory(layout.root, mode: 0o755)
            try await ExternalTool.check("/bin/cp", ["-a", rootfs + "/imageroot/.", layout.root + "/"])
            phases.mark("files")
            try Files.makeDirectory(layout.state, mode: 0o700)

            // Credentials: kept when a re-run finds them, so the ACL hash stays right.
            let env = Files.exists(layout.agentEnv) ? (try? EnvironmentFile.load(path: layout.agentEnv)) ?? [:] : [:]
            let password = env["REDIS_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 } ?? RandomSecret.hex()
            let nodeID = environment["AGENT_ID"].map { $0.hasPrefix("node/") ? String($0.dropFirst(5)) : $0 } ?? environment["NODE_ID"] ?? "1"
            let leader = environment["REDIS_ADDRESS"] ?? "127.0.0.1:6379"
            let lines: [(String, String)] = [("AGENT_ID", "module/\(id)"), ("REDIS_USER", "module/\(id)"), ("REDIS_PASSWORD", password),
                                              ("REDIS_ADDRESS", leader), ("REDIS_REPLICA_ADDRESS", environment["REDIS_REPLICA_ADDRESS"] ?? leader),
                                              ("NODE_ID", nodeID), ("MODULE_ID", id), ("IMAGE_URL", image.description)] + extra
            try Files.write(layout.agentEnv, Array(lines.map { "\($0.0)=\($0.1)\n" }.joined().utf8), mode: 0o600)

            let keys: KeyPair
            do {
                if Files.exists(layout.secretKey) {
                    keys = try KeyPair.load(secretKeyFile: layout.secretKey)
                } else {
                    keys = try KeyPair.generate()
                    try keys.save(secretKeyFile: layout.secretKey)
                }
            } catch {
                throw .system("module key pair: \(error)")
            }
            phases.mark("keys")
            if !rootfull { try await host.chown(layout.home, to: id) }
            if !rootfull { try await host.setLinger(id, enabled: true) }
            try await host.enableAgent(layout)
            phases.mark("unit")
            log("add-module \(id) phases (ms): \(phases.summary)")

            let actions = (FileSystem.list(layout.actions) ?? []).filter(\.isDirectory).map(\.name).sorted()
            return .object([("module_id", .string(id)), ("redis_sha256", .string(RandomSecret.sha256Hex(password))),
                            ("public_key", .string(keys.publicKeyBase64)), ("actions", .array(actions.map { .string($0) }))])
        }
    }

    /// `update-module {"module_id", "image_url"}`: the new image's tree replaces the
    /// old one entry by entry (each new entry is in place before the old one goes),
    /// `state/` and the module's credentials stay, IMAGE_URL follows the image.
    public func update(_ request: JSONValue) async throws(LifecycleError) -> JSONValue {
        guard case .string(let id)? = request["module_id"] else { throw .invalid(parameter: "module_id", "required") }
        try ModuleLayout.validate(id: id)
        guard case .string(let url)? = request["image_url"] else { throw .invalid(parameter: "image_url", "required") }
        let image = try ImageReference(parsing: url)
        let rootfull = !Files.exists(ModuleLayout(id: id, rootfull: false, homeBase: homeBase).agentEnv)
        let layout = ModuleLayout(id: id, rootfull: rootfull, homeBase: homeBase, rootfullBase: rootfullBase)
        guard Files.exists(layout.agentEnv) else { throw .invalid(parameter: "module_id", "module \(id) is not installed on this node") }

        return try await withWorkDirectory("update-\(id)") { work throws(LifecycleError) in
            var phases = PhaseClock()
            let rootfs = try await pullAndExtract(image, work: work, phases: &phases)
            // Staged beside the live tree (same file system, so each swap is a rename).
            let staged = layout.root + "/.update-new", old = layout.root + "/.update-old"
            for dir in [staged, old] { _ = try? await ExternalTool.run("/bin/rm", ["-rf", dir]) }
            try Files.makeDirectory(old, mode: 0o700)
            try await ExternalTool.check("/bin/cp", ["-a", rootfs + "/imageroot", staged])
            for entry in FileSystem.list(staged) ?? [] where entry.name != "state" {
                let live = layout.root + "/" + entry.name
                if Files.exists(live) { try Files.rename(live, old + "/" + entry.name) }
                try Files.rename(staged + "/" + entry.name, live)
            }
            _ = try? await ExternalTool.run("/bin/rm", ["-rf", staged, old])
            var env = (try? EnvironmentFile.load(path: layout.agentEnv)) ?? [:]
            env["IMAGE_URL"] = image.description
            let order = ["AGENT_ID", "REDIS_USER", "REDIS_PASSWORD", "REDIS_ADDRESS", "REDIS_REPLICA_ADDRESS", "NODE_ID", "MODULE_ID", "IMAGE_URL"]
            let text = (order.compactMap { k in env[k].map { "\(k)=\($0)\n" } } + env.keys.sorted().filter { !order.contains($0) }.map { "\($0)=\(env[$0]!)\n" }).joined()
            try Files.write(layout.agentEnv, Array(text.utf8), mode: 0o600)
            if !rootfull { try await host.chown(layout.home, to: id) }
            try await host.enableAgent(layout)
            let actions = (FileSystem.list(layout.actions) ?? []).filter(\.isDirectory).map(\.name).sorted()
            return .object([("module_id", .string(id)), ("image_url", .string(image.description)), ("actions", .array(actions.map { .string($0) }))])
        }
    }

    /// Runs `body` with a fresh private directory under the work directory, removed afterwards (also on failure).
    private func withWorkDirectory<T>(_ name: String, _ body: (String) async throws(LifecycleError) -> T) async throws(LifecycleError) -> T {
        let work = "\(workDirectory)/\(name)"
        _ = try? await ExternalTool.run("/bin/rm", ["-rf", work])
        try Files.makeDirectory(work, mode: 0o700)
        let result: Result<T, LifecycleError>
        do { result = .success(try await body(work)) } catch { result = .failure(error) }
        _ = try? await ExternalTool.run("/bin/rm", ["-rf", work])
        return try result.get()
    }

    /// Pull then unpack; an image that cannot be had is bad input (nothing was created yet).
    private func pullAndExtract(_ image: ImageReference, work: String, phases: inout PhaseClock) async throws(LifecycleError) -> String {
        do { try await images.pull(image, work: work) } catch {
            throw .invalid(parameter: "image_url", "cannot pull \(image): \(error)")
        }
        phases.mark("pull")
        let rootfs: String
        do { rootfs = try await images.extract(work: work) } catch {
            throw .invalid(parameter: "image_url", "cannot unpack \(image): \(error)")
        }
        guard Files.exists(rootfs + "/imageroot") else { throw .invalid(parameter: "image_url", "\(image) has no imageroot/") }
        phases.mark("extract")
        return rootfs
    }

    /// `remove-module {"module_id", "preserve_data"}`: stops the agent,
    /// removes the user and its home (or moves the home aside).
    public func remove(_ request: JSONValue) async throws(LifecycleError) -> JSONValue {
        guard case .string(let id)? = request["module_id"] else { throw .invalid(parameter: "module_id", "required") }
        try ModuleLayout.validate(id: id)
        let preserve: Bool
        if case .bool(let b)? = request["preserve_data"] { preserve = b } else { preserve = false }
        var removed: [JSONValue] = []
        for rootfull in [false, true] {
            let layout = ModuleLayout(id: id, rootfull: rootfull, homeBase: homeBase, rootfullBase: rootfullBase)
            let hasUser = rootfull ? false : try await host.userExists(id)
            guard hasUser || Files.exists(layout.home) else { continue }
            try await host.disableAgent(layout)
            if !rootfull { try await host.setLinger(id, enabled: false) }
            if hasUser {
                try await host.deleteUser(id)
                log("deleted user \(id)")
            }
            if Files.exists(layout.home) {
                if preserve {
                    var stamp = timespec()
                    clock_gettime(CLOCK_REALTIME, &stamp)
                    let aside = "\(layout.home).removed-\(stamp.tv_sec)"
                    try Files.rename(layout.home, aside)
                    log("kept the data of \(id) in \(aside)")
                    removed.append(.string(aside))
                } else {
                    try await ExternalTool.check("/bin/rm", ["-rf", layout.home])
                }
            }
        }
        return .object([("module_id", .string(id)), ("preserved", .array(removed))])
    }
}

/// Milliseconds spent in each named phase of a step (for the log and the benchmark).
struct PhaseClock {
    private var last = ContinuousClock.now
    private var phases: [(String, Int)] = []

    mutating func mark(_ name: String) {
        let now = ContinuousClock.now
        phases.append((name, (now - last).wholeMilliseconds))
        last = now
    }

    var summary: String { phases.map { "\($0.0) \($0.1)" }.joined(separator: ", ") }
}

extension Duration {
    var wholeMilliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}

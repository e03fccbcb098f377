public import JSON
public import RESP

/// The cluster side of module lifecycle (`cluster` actions add-module and
/// remove-module, run by the leader's cluster agent): ids, the Redis ACL
/// user, the node's task, the module's own create/destroy actions, events.
public struct ClusterModules: Sendable {
    public var redis: RedisRoutingClient
    public var tasks: TaskClient
    public var images: ImageTool
    /// How long the new module's agent may take to come up before create-module.
    public var agentStartTimeout: Duration = .seconds(60)
    public var log: @Sendable (String) -> Void

    public init(redis: RedisRoutingClient, tasks: TaskClient, images: ImageTool, log: @escaping @Sendable (String) -> Void) {
        self.redis = redis
        self.tasks = tasks
        self.images = images
        self.log = log
    }

    /// The ACL rules of a module user (REDIS-LAYOUT.md), after `ACL SETUSER module/ID on|off <password>`.
    static func aclRules(_ id: String) -> [String] {
        let user = "module/\(id)"
        return ["resetkeys", "~\(user)/*", "~task/\(user)/*", "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/agents/*",
                "resetchannels", "&progress/\(user)/*", "&\(user)/event/*", "+@read", "+@write", "+@transaction",
                "+@connection", "+publish", "-@admin"]
    }

    private func command(_ arguments: [String]) async throws(LifecycleError) -> RESPValue {
        do {
            return try await redis.client(for: .privileged, command: arguments[0]).send(arguments, timeout: nil).value
        } catch {
            throw .redis("\(arguments.prefix(2).joined(separator: " ")): \(error)")
        }
    }

    /// `add-module {"image", "node"}` → `{"module_id", "image_name", "image_url"}`.
    public func add(_ request: JSONValue, user: String,
                    progress: @Sendable (Int) -> Void = { _ in }) async throws(LifecycleError) -> JSONValue {
        guard case .string(let url)? = request["image"] else { throw .invalid(parameter: "image", "required") }
        guard case .number(let n)? = request["node"], n >= 1, n == n.rounded() else {
            throw .invalid(parameter: "node", "required: the node id (a number)")
        }
        let node = Int(n)
        let image = try ImageReference(parsing: url)
        do {
            guard try await tasks.isListening("node/\(node)") else { throw LifecycleError.invalid(parameter: "node", "no agent node/\(node) is listening") }
        } catch let error as LifecycleError { throw error } catch { throw .redis("\(error)") }
        let info = try await images.inspect(image)
        let labels = try ImageLabels(info.labels)
        let imageURL = "\(image.registry)/\(image.repository)@\(info.digest)"
        progress(10)

        guard case .integer(let seq) = try await command(["INCR", "cluster/module_sequence/\(image.name)"]) else {
            throw .redis("INCR cluster/module_sequence/\(image.name): not an integer")
        }
        let id = "\(image.name)\(seq)"
        // The user exists from here (off, no password): remove-module finds and deletes it if a later step fails.
        _ = try await command(["ACL", "SETUSER", "module/\(id)", "off", "resetpass"] + Self.aclRules(id))
        _ = try await command(["HSET", "cluster/module_node", id, String(node)])
        log("module \(id) of \(image) allocated on node \(node)")
        progress(20)

        let nodeData = JSONValue.object([("module_id", .string(id)), ("image_url", .string(imageURL)),
                                         ("is_rootfull", .bool(labels.rootfull)),
                                         ("environment", request["environment"] ?? .object([]))])
        let nodeResult = try await run("node/\(node)", "add-module", nodeData, user: user)
        guard case .string(let sha)? = nodeResult["redis_sha256"], case .string(let publicKey)? = nodeResult["public_key"] else {
            throw .system("node/\(node) add-module gave no redis_sha256/public_key")
        }
        _ = try await command(["ACL", "SETUSER", "module/\(id)", "on", "#\(sha)"])
        _ = try await command(["SET", "module/\(id)/public_key", publicKey])
        progress(60)

        var actions: [String] = []
        if case .array(let list)? = nodeResult["actions"] { actions = list.compactMap { if case .string(let s) = $0 { s } else { nil } } }
        if actions.contains("create-module") {
            let started = ContinuousClock.now
            try await waitForAgent("module/\(id)")
            let up = ContinuousClock.now
            _ = try await run("module/\(id)", "create-module", request["environment"] ?? .object([]), user: user)
            log("module/\(id) agent listening after \((up - started).wholeMilliseconds) ms, create-module \((ContinuousClock.now - up).wholeMilliseconds) ms")
        }
        progress(95)
        _ = try await command(["PUBLISH", "cluster/event/module-added", JSONValue.object([("module", .string(id)), ("node", .number(Double(node)))]).serialized])
        return .object([("module_id", .string(id)), ("image_name", .string(image.name)), ("image_url", .string(imageURL))])
    }

    /// `update-module {"module_id", "image_url"}`: the node replaces the module's tree
    /// (state and credentials kept), then the module's own update-module runs if it has one.
    public func update(_ request: JSONValue, user: String) async throws(LifecycleError) -> JSONValue {
        guard case .string(let id)? = request["module_id"] else { throw .invalid(parameter: "module_id", "required") }
        try ModuleLayout.validate(id: id)
        guard case .string(let url)? = request["image_url"] else { throw .invalid(parameter: "image_url", "required") }
        let image = try ImageReference(parsing: url)
        guard let node = try await command(["HGET", "cluster/module_node", id]).string, !node.isEmpty else {
            throw .invalid(parameter: "module_id", "no module \(id) in cluster/module_node")
        }
        let info = try await images.inspect(image)
        _ = try ImageLabels(info.labels)
        let imageURL = "\(image.registry)/\(image.repository)@\(info.digest)"
        let result = try await run("node/\(node)", "update-module", .object([("module_id", .string(id)), ("image_url", .string(imageURL))]), user: user)
        if case .array(let actions)? = result["actions"], actions.contains(.string("update-module")) {
            try await waitForAgent("module/\(id)")
            _ = try await run("module/\(id)", "update-module", .object([("image_url", .string(imageURL))]), user: user)
        }
        return .object([("module_id", .string(id)), ("image_url", .string(imageURL))])
    }

    /// `remove-module {"module_id", "preserve_data"}`: the module's destroy-module (if its agent
    /// runs), the node's remove-module, then its keys, ACL user and node record; `module-removed`.
    public func remove(_ request: JSONValue, user: String) async throws(LifecycleError) -> JSONValue {
        guard case .string(let id)? = request["module_id"] else { throw .invalid(parameter: "module_id", "required") }
        try ModuleLayout.validate(id: id)
        let nodeValue = try await command(["HGET", "cluster/module_node", id])
        guard let node = nodeValue.string, !node.isEmpty else { throw .invalid(parameter: "module_id", "no module \(id) in cluster/module_node") }
        let preserve = request["preserve_data"] ?? .bool(false)

        let listening = (try? await tasks.isListening("module/\(id)")) ?? false
        if listening {
            do {
                let actions = try await run("module/\(id)", "list-actions", .null, user: user)
                if case .array(let names) = actions, names.contains(.string("destroy-module")) {
                    _ = try await run("module/\(id)", "destroy-module", .object([("preserve_data", preserve)]), user: user)
                }
            } catch {
                log("destroy-module of \(id) failed (removing anyway): \(error)")
            }
        }
        _ = try await run("node/\(node)", "remove-module", .object([("module_id", .string(id)), ("preserve_data", preserve)]), user: user)

        var keys: [String] = []
        do {
            for try await key in try redis.client(for: .privileged, command: "scan").scan(match: "module/\(id)/*") { keys.append(key) }
        } catch { throw .redis("SCAN module/\(id)/*: \(error)") }
        for batch in stride(from: 0, to: keys.count, by: 100) {
            _ = try await command(["DEL"] + keys[batch..<min(keys.count, batch + 100)])
        }
        _ = try await command(["ACL", "DELUSER", "module/\(id)"])
        _ = try await command(["HDEL", "cluster/module_node", id])
        _ = try await command(["PUBLISH", "cluster/event/module-removed", JSONValue.object([("module", .string(id)), ("node", .number(Double(Int(node) ?? 0)))]).serialized])
        return .object([("module_id", .string(id)), ("keys_deleted", .number(Double(keys.count)))])
    }

    private func waitForAgent(_ agentID: String) async throws(LifecycleError) {
        let deadline = ContinuousClock.now + agentStartTimeout
        while ContinuousClock.now < deadline {
            if (try? await tasks.isListening(agentID, maxIdle: 8)) == true { return }
            try? await Task.sleep(for: .milliseconds(25))
        }
        throw .system("the agent \(agentID) did not start within \(agentStartTimeout) (is its unit running? see journalctl --user -M ID@)")
    }

    /// Runs a task on another agent and returns its output; a failure becomes this step's error.
    private func run(_ agentID: String, _ action: String, _ data: JSONValue, user: String) async throws(LifecycleError) -> JSONValue {
        do {
            let id = TaskClient.newID()
            let subscription = try await tasks.progress(agentID: agentID, taskID: id)
            try await tasks.submit(agentID: agentID, action: action, data: data, user: user, id: id)
            let record = try await TaskFollower(client: tasks, agentID: agentID, taskID: id).wait(on: subscription) { _ in }
            guard record.exitCode == 0 else {
                throw LifecycleError.tool("\(agentID) \(action)", status: record.exitCode ?? -1, output: record.error.isEmpty ? record.output : record.error)
            }
            return (try? JSONValue.parse(record.output)) ?? .null
        } catch let error as LifecycleError {
            throw error
        } catch {
            throw .redis("task \(action) on \(agentID): \(error)")
        }
    }
}

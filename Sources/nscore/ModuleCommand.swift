import Agents
import ArgumentParser
import FoundationEssentials
import JSON
import Net
import NIOCore
import NIOPosix
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// `nscore module …`: the steps behind the core add-module / remove-module
/// actions. Each reads the task's data (JSON) on stdin and prints its output
/// (JSON) on stdout, as an action step does.
struct ModuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "module",
        abstract: "Install and remove modules (the steps of the cluster and node add-module/remove-module actions).",
        discussion: """
            Run as action steps by the agents: data on standard input, output JSON on standard \
            output, the agent's REDIS_* and AGENT_ID in the environment. Bad input or an image that \
            cannot be read ends with validation-failed (exit 10, a JSON array of \
            {"parameter","error","value","field"}) and nothing created; any other failure exits 1 \
            with the reason on stderr, and the same task can be run again.

              cluster-add     {"image": "REGISTRY/NAME:TAG", "node": N}   (cluster agent)
              cluster-update  {"module_id": ID, "image_url": "REGISTRY/NAME:TAG"}  (cluster agent)
              cluster-remove  {"module_id": ID, "preserve_data": false}    (cluster agent)
              node-add        {"module_id", "image_url", "is_rootfull", "environment"}  (node agent, root)
              node-update     {"module_id", "image_url"}                   (node agent, root)
              node-remove     {"module_id", "preserve_data"}               (node agent, root)
            """)

    @Argument(help: "cluster-add, cluster-update, cluster-remove, node-add, node-update or node-remove.")
    var kind: String

    @Option(help: ArgumentHelp("nscore's shared files (the module agent unit, the home skeleton).", valueName: "dir"))
    var shareDir: String = environmentValue("NSCORE_SHARE_DIR") ?? "/usr/local/share/nscore"

    @Option(help: ArgumentHelp("Where images are pulled and unpacked.", valueName: "dir"))
    var workDir: String = environmentValue("NSCORE_WORK_DIR") ?? "/var/lib/nscore/work"

    @Option(help: ArgumentHelp("Base of rootless module homes.", valueName: "dir"))
    var homeBase: String = environmentValue("NSCORE_HOME_BASE") ?? "/home"

    func validate() throws {
        guard ["cluster-add", "cluster-remove", "cluster-update", "node-add", "node-remove", "node-update"].contains(kind) else {
            throw ValidationError("unknown step '\(kind)': use cluster-add, cluster-update, cluster-remove, node-add, node-update or node-remove")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let log: @Sendable (String) -> Void = { StandardError.write("nscore module: \($0)\n") }
        let input: JSONValue
        do { input = try JSONValue.parse(String(decoding: try readStandardInput(limit: 1 << 20), as: UTF8.self)) } catch {
            fail(.invalid(parameter: "data", "not JSON: \(error)"), input: .null)
        }
        do {
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        } catch {
            fail(.system("cannot create \(workDir): \(error)"), input: input)
        }
        let images = ImageTool(policyFile: try policyFile())
        let output: JSONValue
        do {
            switch kind {
            case "node-add", "node-remove", "node-update":
                var node = NodeModules(host: SystemModuleHost(shareDirectory: shareDir, log: log), images: images,
                                       environment: environment, workDirectory: workDir, log: log)
                node.homeBase = homeBase
                switch kind {
                case "node-add": output = try await node.add(input)
                case "node-update": output = try await node.update(input)
                case "node-remove": output = try await node.remove(input)
                default: fail(.invalid(parameter: "step", "unknown step \(kind)"), input: input)
                }
            default:
                let settings = try RedisSettings(environment: environment, clientName: environment["AGENT_ID"] ?? "nscore-module",
                                                 base: RedisConnectionConfiguration(commandTimeout: .seconds(10), connectTimeout: .seconds(5)))
                let redis = RedisRoutingClient(settings: settings, group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
                let cluster = ClusterModules(redis: redis, tasks: TaskClient(settings: settings, group: MultiThreadedEventLoopGroup.singleton),
                                             images: images, log: log)
                let user = environment["AGENT_TASK_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "cluster"
                switch kind {
                case "cluster-add": output = try await cluster.add(input, user: user, progress: { setProgress($0) })
                case "cluster-update": output = try await cluster.update(input, user: user)
                case "cluster-remove": output = try await cluster.remove(input, user: user)
                default: fail(.invalid(parameter: "step", "unknown step \(kind)"), input: input)
                }
                await redis.close()
            }
        } catch let error as LifecycleError {
            fail(error, input: input)
        } catch {
            fail(.system("\(error)"), input: input)
        }
        StandardOutput.write(output.serialized + "\n")
    }

    /// skopeo wants a signature policy; nscore's accepts what the registry serves (images are pinned by digest).
    private func policyFile() throws -> String {
        let path = workDir + "/skopeo-policy.json"
        if !FileManager.default.fileExists(atPath: path) {
            try #"{"default": [{"type": "insecureAcceptAnything"}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return path
    }
}

/// `set-progress N` on the agent's command pipe (fd 3), when there is one.
private func setProgress(_ percent: Int) { StepPipe.send("set-progress \(percent)") }

/// Ends the step: validation-failed (exit 10, the protocol's error array) for bad input, else exit 1.
private func fail(_ error: LifecycleError, input: JSONValue) -> Never {
    if case .invalid(let parameter, let why) = error {
        StepPipe.send("set-status validation-failed")
        let entry = JSONValue.object([("parameter", .string(parameter)), ("error", .string(why)),
                                      ("value", input[parameter] ?? .null), ("field", .string(parameter))])
        StandardOutput.write(JSONValue.array([entry]).serialized + "\n")
        StandardError.write("nscore module: \(error)\n")
        exit(10)
    }
    StandardError.write("nscore module: \(error)\n")
    exit(1)
}

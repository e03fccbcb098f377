import Agents
import ArgumentParser
import FoundationEssentials
import JSON
import Net
import NIOPosix
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// `nscore task`: submit tasks to agents and read their results.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Run a task on an agent, or read tasks' results.",
        discussion: """
            Uses REDIS_ADDRESS, REDIS_REPLICA_ADDRESS, REDIS_USER and REDIS_PASSWORD from the \
            environment or --env-file, like nscore redis: tasks are pushed to the leader with those \
            credentials, progress is followed on the replica.
            """,
        subcommands: [TaskRunCommand.self, TaskGetCommand.self, TaskListCommand.self])
}

/// Options shared by the task subcommands.
struct TaskConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read REDIS_* variables from a KEY=VALUE file (like systemd's EnvironmentFile).", valueName: "file"))
    var envFile: String?

    func environment() throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let envFile {
            do { environment.merge(try EnvironmentFile.load(path: envFile)) { $1 } } catch { throw ValidationError("\(error)") }
        }
        return environment
    }

    func client() throws -> (TaskClient, [String: String]) {
        let environment = try environment()
        let settings: RedisSettings
        do { settings = try RedisSettings(environment: environment, clientName: "nscore-task") } catch { throw ValidationError("\(error)") }
        guard settings.privileged != nil else {
            throw ValidationError("pushing a task needs the leader with an ACL user: set REDIS_USER and REDIS_PASSWORD (or --env-file)")
        }
        return (TaskClient(settings: settings, group: MultiThreadedEventLoopGroup.singleton), environment)
    }
}

/// Fails the command with a Redis error, saying what it was.
func redisFailure(_ error: any Error) -> ExitCode {
    StandardError.write("nscore task: \(error)\n")
    return ExitCode(1)
}

struct TaskRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Push a task to an agent, follow its progress, print its output, exit with its exit code.",
        discussion: """
            The task gets a new UUID and `user` from --user (default REDIS_USER). Progress is shown \
            on standard error: a bar on a terminal, a line per change otherwise. The output is \
            printed pretty when it is JSON (--raw prints it as is); the task's error text goes to \
            standard error. Ctrl-C sends cancel-task for it and waits for the aborted result (a \
            second Ctrl-C leaves at once).

            Before queueing, the agent must be listening: a Redis client named AGENT_ID idle for at \
            most 8 s (--no-check skips this; exit status 3 when it is not).

            Example: nscore task run module/mail1 get-configuration --data '{}'
            """)

    @Argument(help: "The agent id, e.g. node/1 or module/mail1.") var agentID: String
    @Argument(help: "The action to run.") var action: String

    @Option(help: ArgumentHelp("The task data: JSON text, @FILE, or - for standard input (default null).", valueName: "json"))
    var data: String?

    @Option(help: ArgumentHelp("The user recorded in the task (default: REDIS_USER).", valueName: "name"))
    var user: String?

    @Flag(help: "Queue even when no agent with that id seems to be listening.") var noCheck = false
    @Flag(help: "Only print the task id; do not wait for the result.") var noWait = false
    @Flag(help: "Print the output as is, even when it is JSON.") var raw = false
    @OptionGroup var connection: TaskConnectionOptions

    func validate() throws {
        _ = try taskData()
    }

    private func taskData() throws -> JSONValue {
        guard let data else { return .null }
        let text: String
        if data == "-" {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while case let n = read(0, &chunk, chunk.count), n > 0 { bytes += chunk[0..<n] }
            text = String(decoding: bytes, as: UTF8.self)
        } else if data.hasPrefix("@") {
            guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                throw ValidationError("--data \(data): cannot read \(data.dropFirst())")
            }
            text = String(decoding: contents, as: UTF8.self)
        } else {
            text = data
        }
        do { return try JSONValue.parse(text) } catch { throw ValidationError("--data is not JSON: \(error)") }
    }

    func run() async throws {
        let (client, environment) = try connection.client()
        var run = TaskRun(agentID: agentID, action: action, data: try taskData(),
                          user: user ?? environment["REDIS_USER"] ?? "nscore-task")
        run.check = !noCheck
        run.wait = !noWait
        run.raw = raw
        let status = await run.perform(with: client)
        await client.close()
        if status != 0 { throw ExitCode(status) }
    }
}

struct TaskGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a task's context, exit code, output and error (exit 1 if unknown).")

    @Argument(help: "The agent id.") var agentID: String
    @Argument(help: "The task id.") var taskID: String
    @OptionGroup var connection: TaskConnectionOptions

    func run() async throws {
        let (client, _) = try connection.client()
        let record: TaskClient.Record
        do { record = try await client.record(agentID: agentID, taskID: taskID) } catch {
            await client.close()
            throw redisFailure(error)
        }
        await client.close()
        guard record.context != nil else {
            StandardError.write("nscore task: no task \(taskID) of \(agentID) in Redis (unknown, or expired)\n")
            throw ExitCode(1)
        }
        StandardOutput.write(TaskReports.describe(record))
    }
}

struct TaskListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List an agent's tasks still in Redis, running ones first, newest first.")

    @Argument(help: "The agent id.") var agentID: String
    @OptionGroup var connection: TaskConnectionOptions

    func run() async throws {
        let (client, _) = try connection.client()
        let tasks: [TaskClient.Summary]
        do { tasks = try await client.list(agentID: agentID) } catch {
            await client.close()
            throw redisFailure(error)
        }
        await client.close()
        StandardOutput.write(TaskReports.table(tasks))
    }
}

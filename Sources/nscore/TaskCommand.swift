import Agents
import ArgumentParser
import Foundation
import JSON
import Net
import NIOPosix
import RESP
import UnixSignals

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
    FileHandle.standardError.write(Data("nscore task: \(error)\n".utf8))
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
            most 8 s (--no-check skips this).

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
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
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
        let payload = try taskData()
        let submitter = user ?? environment["REDIS_USER"] ?? "nscore-task"
        do {
            if !noCheck {
                do {
                    guard try await client.isListening(agentID) else {
                        FileHandle.standardError.write(Data("nscore task: no agent \(agentID) is listening (no Redis client named \(agentID) idle for 8 s or less); start it, or use --no-check to queue anyway\n".utf8))
                        await client.close()
                        throw ExitCode(3)
                    }
                } catch let error as RedisClientError where error.serverCode == "NOPERM" {
                    FileHandle.standardError.write(Data("nscore task: cannot check that \(agentID) is listening (\(error)); queueing anyway\n".utf8))
                }
            }
            let id = TaskClient.newID()
            if noWait {
                try await client.submit(agentID: agentID, action: action, data: payload, user: submitter, id: id)
                print(id)
                await client.close()
                return
            }
            let subscription = try await client.progress(agentID: agentID, taskID: id)
            try await client.submit(agentID: agentID, action: action, data: payload, user: submitter, id: id)
            let display = ProgressDisplay(terminal: isatty(STDERR_FILENO) != 0)
            let started = ContinuousClock.now
            let interrupts = Task {
                var count = 0
                for await _ in await UnixSignalsSequence(trapping: .sigint) {
                    count += 1
                    if count > 1 { Foundation.exit(130) }
                    FileHandle.standardError.write(Data("\nnscore task: cancelling \(id)…\n".utf8))
                    _ = try? await client.submit(agentID: agentID, action: "cancel-task", data: .object([("task", .string(id))]), user: submitter)
                }
            }
            let record = try await TaskFollower(client: client, agentID: agentID, taskID: id).wait(on: subscription) { p in
                display.show(p, elapsed: ContinuousClock.now - started)
            }
            interrupts.cancel()
            await client.close()
            let output = record.output
            if !raw, let json = try? JSONValue.parse(output) {
                print(json.prettySerialized)
            } else {
                FileHandle.standardOutput.write(Data(output.utf8))
            }
            if !record.error.isEmpty { FileHandle.standardError.write(Data(record.error.utf8)) }
            let code = record.exitCode ?? 1
            if code != 0 { throw ExitCode(Int32(truncatingIfNeeded: code & 0xff)) }
        } catch let error as ExitCode {
            throw error
        } catch {
            await client.close()
            throw redisFailure(error)
        }
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
        guard let context = record.context else {
            FileHandle.standardError.write(Data("nscore task: no task \(taskID) of \(agentID) in Redis (unknown, or expired)\n".utf8))
            throw ExitCode(1)
        }
        let pretty = (try? JSONValue.parse(context))?.prettySerialized ?? context
        print("context: \(pretty)")
        print("exit code: \(record.exitCode.map(String.init) ?? "(still running)")")
        print("output:\n\(record.output)", terminator: record.output.hasSuffix("\n") || record.output.isEmpty ? "" : "\n")
        if record.output.isEmpty { print() }
        print("error:\n\(record.error)", terminator: record.error.hasSuffix("\n") || record.error.isEmpty ? "" : "\n")
        if record.error.isEmpty { print() }
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
        print("TASK                                  ACTION                    EXIT     AGE      USER")
        for t in tasks {
            let exit = t.exitCode.map(String.init) ?? "running"
            let age = t.exitCode == nil ? "-" : "\(max(0, 28800 - t.ttl) / 60)m"
            print([t.taskID.padded(37), t.action.padded(25), exit.padded(8), age.padded(8), t.user].joined(separator: " "))
        }
    }
}

extension String {
    fileprivate func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

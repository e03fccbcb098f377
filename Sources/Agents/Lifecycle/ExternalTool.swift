import NIOPosix

/// What an external tool printed and how it ended.
public struct ToolResult: Sendable {
    public var status: Int
    public var stdout: String
    public var stderr: String
}

/// Runs the host's tools (useradd, skopeo, …) without a shell: posix_spawn,
/// stdout and stderr collected, exit awaited by pidfd (``StepProcess``).
public enum ExternalTool {
    /// The environment tools get: a fixed PATH and the C locale (stable messages).
    static let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root"]

    /// Runs `path` with `arguments`; returns however it ended.
    public static func run(_ path: String, _ arguments: [String], input: [UInt8] = []) async throws(LifecycleError) -> ToolResult {
        let launch = StepLaunch(path: path, environment: environment, input: input, capture: true, commandPipe: false,
                                arguments: arguments)
        let outcome: StepOutcome
        do {
            outcome = try await StepProcess.run(launch, group: MultiThreadedEventLoopGroup.singleton, started: { _ in },
                                                onCommand: { _ in }, onStderr: { _ in })
        } catch {
            throw .system("cannot run \(path): \(error)")
        }
        return ToolResult(status: outcome.status.code,
                          stdout: outcome.stdout.map { String(buffer: $0.bytes) } ?? "",
                          stderr: outcome.stderr.map { String(buffer: $0.bytes) } ?? "")
    }

    /// Runs it and throws ``LifecycleError/tool(_:status:output:)`` unless it exits 0.
    @discardableResult
    public static func check(_ path: String, _ arguments: [String], input: [UInt8] = []) async throws(LifecycleError) -> ToolResult {
        let result = try await run(path, arguments, input: input)
        guard result.status == 0 else {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            throw .tool(([name] + arguments.prefix(3)).joined(separator: " "), status: result.status,
                        output: String((result.stderr.isEmpty ? result.stdout : result.stderr).suffix(2000)))
        }
        return result
    }
}

@testable import Agents
import Foundation
import NetTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Writes an executable script into `dir`.
func script(_ dir: String, _ name: String, _ body: String, mode: Int = 0o755) throws -> String {
    let path = dir + "/" + name
    try body.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, mode_t(mode))
    return path
}

@Suite("StepProcess: posix_spawn, pipes, fd 3, process groups")
struct StepProcessTests {
    let group = MultiThreadedEventLoopGroup.singleton

    @Test("stdin in, stdout and stderr collected, command lines from fd 3, exit code, own process group")
    func roundTrip() async throws {
        let dir = try makeTempDirectory(prefix: "nscore-step")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try script(dir, "10step", """
            #!/bin/sh
            read line
            echo "got $line"
            echo "to stderr" >&2
            printf 'set-progress 50\\r\\nset-weight "10step" 3\\n' >&3
            echo "pgid $(ps -o pgid= -p $$ | tr -d ' ') pid $$"
            exit 7
            """)
        let lines = Mutex<[String]>([])
        let chunks = Mutex<[String]>([])
        let pid = Mutex<pid_t>(0)
        let outcome = try await StepProcess.run(
            StepLaunch(path: path, environment: ["PATH=/usr/bin:/bin"], input: Array("hello\n".utf8), capture: true, commandPipe: true),
            group: group, started: { p in pid.withLock { $0 = p } },
            onCommand: { line in lines.withLock { $0.append(line) } },
            onStderr: { chunk in chunks.withLock { $0.append(String(buffer: chunk)) } })
        #expect(outcome.status == .exited(7))
        let stdout = String(buffer: outcome.stdout!.bytes)
        #expect(stdout.hasPrefix("got hello\n"), "\(stdout)")
        let p = pid.withLock { $0 }
        #expect(stdout.contains("pgid \(p) pid \(p)"), "leads its own group: \(stdout)")
        let lister = try script(dir, "20fds", "#!/bin/sh\nexec ls /proc/self/fd\n")
        let listed = try await StepProcess.run(
            StepLaunch(path: lister, environment: ["PATH=/usr/bin:/bin"], input: [], capture: true, commandPipe: true),
            group: group, started: { _ in }, onCommand: { _ in }, onStderr: { _ in })
        let fds = String(buffer: listed.stdout!.bytes).split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(fds == [0, 1, 2, 3, 4], "0-3, and 4 for ls's own listing; nothing of ours leaked: \(fds)")
        #expect(String(buffer: outcome.stderr!.bytes) == "to stderr\n")
        #expect(chunks.withLock { $0.joined() } == "to stderr\n")
        #expect(lines.withLock { $0 } == ["set-progress 50\r", "set-weight \"10step\" 3"])
    }

    @Test("a large input is fed as the child reads it; a killed step reports the signal")
    func largeInputAndSignal() async throws {
        let dir = try makeTempDirectory(prefix: "nscore-step")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cat = try script(dir, "cat", "#!/bin/sh\nexec wc -c\n")
        let big = [UInt8](repeating: 0x61, count: 3 << 20)
        let counted = try await StepProcess.run(
            StepLaunch(path: cat, environment: ["PATH=/usr/bin:/bin"], input: big, capture: true, commandPipe: true),
            group: group, started: { _ in }, onCommand: { _ in }, onStderr: { _ in })
        #expect(String(buffer: counted.stdout!.bytes).trimmingCharacters(in: .whitespacesAndNewlines) == "\(3 << 20)")
        let sleeper = try script(dir, "sleeper", "#!/bin/sh\nsleep 30\n")
        let started = Date()
        let killed = try await StepProcess.run(
            StepLaunch(path: sleeper, environment: ["PATH=/usr/bin:/bin"], input: [], capture: true, commandPipe: true),
            group: group, started: { pid in kill(-pid, SIGTERM) }, onCommand: { _ in }, onStderr: { _ in })
        #expect(killed.status == .signaled(SIGTERM))
        #expect(killed.status.code == -1)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("a missing or non-executable step fails to spawn with the reason")
    func spawnFailures() async throws {
        let dir = try makeTempDirectory(prefix: "nscore-step")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try script(dir, "plain", "#!/bin/sh\necho hi\n", mode: 0o644)
        for (path, reason) in [(dir + "/missing", "no such file or directory"), (plain, "permission denied")] {
            do {
                _ = try await StepProcess.run(
                    StepLaunch(path: path, environment: [], input: [], capture: true, commandPipe: true),
                    group: group, started: { _ in Issue.record("started \(path)") }, onCommand: { _ in }, onStderr: { _ in })
                Issue.record("\(path) ran")
            } catch {
                #expect(error.reason == "fork/exec \(path): \(reason)")
            }
        }
    }

    @Test("a daemon left holding the pipes does not hold the step beyond the grace period")
    func leftoverHolder() async throws {
        let dir = try makeTempDirectory(prefix: "nscore-step")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The daemon holds the pipes for 30 s; the step must end after the 2 s grace. The bound
        // leaves 10 s for a loaded machine (a full parallel run with two busy CPUs took 6.9 s).
        let path = try script(dir, "daemonize", "#!/bin/sh\necho before\n(sleep 30 &)\nexit 0\n")
        let started = Date()
        var processGroup: pid_t = 0
        let outcome = try await StepProcess.run(
            StepLaunch(path: path, environment: ["PATH=/usr/bin:/bin"], input: [], capture: true, commandPipe: true),
            group: group, started: { processGroup = $0 }, onCommand: { _ in }, onStderr: { _ in })
        let took = Date().timeIntervalSince(started)
        if processGroup > 0 { kill(-processGroup, SIGKILL) }  // the leftover daemon, still in the step's process group (never kill(0): our own)
        #expect(outcome.status == .exited(0))
        #expect(String(buffer: outcome.stdout!.bytes) == "before\n")
        #expect(outcome.abandonedPipes)
        #expect(took < 12, "the step waited for the daemon holding its pipes")
    }
}

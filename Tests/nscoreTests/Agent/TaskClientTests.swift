import Foundation
import NetTestSupport
import Testing

/// Runs `nscore task ARGS` as the cluster user; returns the process (stdout and stderr go to separate files).
private func task(_ h: AgentHarness, _ arguments: [String]) throws -> (process: ExternalProcess, stdout: String, stderr: String) {
    let out = h.root + "/task-\(UUID().uuidString.prefix(6)).out"
    let errPath = out + ".err"
    let fd = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(fd) }
    let env = ["PATH": "/usr/bin:/bin", "REDIS_ADDRESS": "127.0.0.1:\(h.redis.port)", "REDIS_USER": "cluster",
               "REDIS_PASSWORD": AgentHarness.clusterPassword]
    let p = try ExternalProcess(nscoreBinary, ["task"] + arguments, environment: env, logPath: out, stderrFD: fd)
    return (p, out, errPath)
}

private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

@Suite("nscore task: run, get, list", .timeLimit(.minutes(3)))
struct TaskClientTests {
    @Test("run: progress lines, pretty JSON output, the task's error on stderr, its exit code")
    func run() async throws {
        try await withAgent { h in
            try h.step("hello", "10hello", "#!/bin/sh\necho set-progress 50 >&3\necho warn >&2\necho \"{\\\"got\\\": $(cat), \\\"user\\\": \\\"$AGENT_TASK_USER\\\"}\"\n")
            try h.step("fail", "10fail", "#!/bin/sh\necho failing >&2\nexit 9\n")
            try await h.start()
            let ok = try task(h, ["run", AgentHarness.agentID, "hello", "--data", #"{"a":[1]}"#, "--user", "admin"])
            #expect(await ok.process.waitForExit() == 0, "\(read(ok.stderr))")
            #expect(read(ok.stdout) == "{\n  \"got\": {\n    \"a\": [\n      1\n    ]\n  },\n  \"user\": \"admin\"\n}\n")
            let lines = read(ok.stderr).split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
            #expect(lines == ["pending 0%", "running 0%", "running 50%", "running 100%", "completed 100%", "warn"], "\(lines)")

            let bad = try task(h, ["run", AgentHarness.agentID, "fail", "--raw"])
            #expect(await bad.process.waitForExit() == 9)
            #expect(read(bad.stderr).hasSuffix("failing\n"))

            let nobody = try task(h, ["run", "module/nobody", "hello"])
            #expect(await nobody.process.waitForExit() == 3)
            #expect(read(nobody.stderr).contains("--no-check"))
            let queued = try task(h, ["run", "--no-check", "--no-wait", "module/nobody", "hello"])
            #expect(await queued.process.waitForExit() == 0)
            #expect(try await h.admin.lrange("module/nobody/tasks", 0, -1).count == 1)
            let badData = try task(h, ["run", AgentHarness.agentID, "hello", "--data", "{nope"])
            #expect(await badData.process.waitForExit() == 64)
            #expect(read(badData.stderr).contains("--data is not JSON"))
        }
    }

    @Test("Ctrl-C pushes cancel-task and waits for the aborted result")
    func interrupt() async throws {
        try await withAgent { h in
            try h.step("long", "10long", "#!/bin/sh\nexec sleep 30\n")
            try await h.start()
            let run = try task(h, ["run", AgentHarness.agentID, "long"])
            #expect(await waitFor { h.log.contains("long/10long is starting") })
            kill(run.process.pid, SIGINT)
            let status = await run.process.waitForExit(timeout: .seconds(10))
            #expect(status == 255, "the task's exit code -1, as a process status: \(read(run.stderr))")
            #expect(read(run.stderr).contains("cancelling"))
            #expect(h.log.contains("cancel-task"), "\(h.log)")
        }
    }

    @Test("get prints a finished task; list shows the agent's tasks")
    func getAndList() async throws {
        try await withAgent { h in
            try h.step("hello", "10hello", "#!/bin/sh\necho -n out\necho -n err >&2\n")
            try await h.start()
            let id = try await h.submit("hello", data: #"{"password":"p"}"#)
            _ = try await h.result(id)
            let got = try task(h, ["get", AgentHarness.agentID, id])
            #expect(await got.process.waitForExit() == 0)
            #expect(read(got.stdout).contains("\"password\": \"XXX\""))
            #expect(read(got.stdout).contains("exit code: 0\noutput:\nout\nerror:\nerr\n"), "\(read(got.stdout))")
            let missing = try task(h, ["get", AgentHarness.agentID, "nope"])
            #expect(await missing.process.waitForExit() == 1)
            let listed = try task(h, ["list", AgentHarness.agentID])
            #expect(await listed.process.waitForExit() == 0)
            #expect(read(listed.stdout).contains(id))
            #expect(read(listed.stdout).split(separator: "\n").contains { $0.hasPrefix(id) && $0.contains("hello") })
        }
    }
}

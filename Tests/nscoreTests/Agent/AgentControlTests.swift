import Foundation
import JSON
import NetTestSupport
import RESP
import Testing

@Suite("nscore agent: cancel, busy, heartbeat, events", .timeLimit(.minutes(3)))
struct AgentControlTests {
    @Test("cancel-task: SIGTERM to the running step and to each later step; a step that traps TERM decides")
    func cancel() async throws {
        try await withAgent { h in
            try h.step("long", "10sleep", "#!/bin/sh\necho started\nexec sleep 30\n")
            try h.step("long", "20later", "#!/bin/sh\necho later-ran\nsleep 30\n")
            try h.step("trap", "10trap", "#!/bin/sh\ntrap 'echo caught; exit 5' TERM\necho trapping\ntouch \(h.root)/trap-ready\nwhile true; do sleep 0.1; done\n")
            try await h.start()
            let long = try await h.submit("long")
            #expect(await h.waitForLog("\(long): long/10sleep is starting"))
            let cancel = try await h.submit("cancel-task", data: #"{"task":"\#(long)"}"#)
            #expect(try await h.result(cancel).exitCode == 0)
            let r = try await h.result(long)
            #expect(r.exitCode == -1, "the step died of SIGTERM: \(r)")
            #expect(!r.output.contains("later-ran"))
            #expect(h.progress(long).last?.contains("aborted") == true)

            let trapped = try await h.submit("trap")
            #expect(await h.waitForLog("\(trapped): trap/10trap is starting"))
            #expect(await waitFor { FileManager.default.fileExists(atPath: h.root + "/trap-ready") }, "the step set its trap")
            _ = try await h.result(try await h.submit("cancel-task", data: #"{"task":"\#(trapped)"}"#))
            let t = try await h.result(trapped)
            #expect(t.exitCode == 5)
            #expect(t.output == "trapping\ncaught\n")

            let unknown = try await h.result(try await h.submit("cancel-task", data: #"{"task":"no-such-task"}"#))
            #expect(unknown.exitCode == 2)
            #expect(await h.waitForLog("task ID not found"))
            for bad in [#"{}"#, #"{"task":7}"#, #""x""#, #"{"task":"a","timeout":"soon"}"#] {
                let id = try await h.submit("cancel-task", data: bad)
                #expect(try await h.result(id).exitCode == 10, "\(bad)")
                #expect(h.progress(id).last == #"{"status":"validation-failed","progress":0}"#)
            }
            #expect(await h.waitForLog("invalid task ID or timeout value"))
        }
    }

    @Test("busy: with MAX_CONCURRENCY=2 a third long task is rejected with 11 after OVERLOAD_SLEEP; builtins still run")
    func busy() async throws {
        try await withAgent { h in
            try h.step("long", "10sleep", "#!/bin/sh\nsleep 3\n")
            try await h.start(["MAX_CONCURRENCY": "2", "OVERLOAD_SLEEP": "200ms"])
            let a = try await h.submit("long"), b = try await h.submit("long")
            #expect(await h.waitForLog("\(b): long/10sleep is starting"))
            let started = ContinuousClock.now
            let c = try await h.submit("long")
            let r = try await h.result(c)
            #expect(r.exitCode == 11)
            #expect(r.error == "Agent is busy. Action long rejected!\n")
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            #expect(h.progress(c) == [#"{"status":"pending","progress":0}"#, #"{"status":"aborted","progress":0}"#])
            #expect(try await h.result(try await h.submit("list-actions")).exitCode == 0, "builtins are not counted")
            #expect(try await h.result(a).exitCode == 0)
            #expect(try await h.result(b).exitCode == 0)
        }
    }

    @Test("heartbeat: while a step runs, every polling interval the context TTL is renewed and the status published again")
    func heartbeat() async throws {
        try await withAgent { h in
            try h.step("slow", "10slow", "#!/bin/sh\nsleep 1.1\n")
            try await h.start(["AGENT_POLLING_INTERVAL": "200ms"])
            #expect(h.agentCommands().contains { $0.arguments == ["brpop", "module/test1/tasks", "0.200"] })
            let id = try await h.submit("slow")
            #expect(try await h.result(id).exitCode == 0)
            let expires = h.agentCommands().map(\.arguments).filter { $0 == ["expire", "task/module/test1/\(id)/context", "60"] }
            #expect((4...6).contains(expires.count), "\(expires.count) heartbeats in 1.1 s")
            let running = h.progress(id).filter { $0 == #"{"status":"running","progress":0}"# }
            #expect(running.count >= 5, "running published at start and with each heartbeat: \(h.progress(id))")
        }
    }

    @Test("events: payload on stdin, source/name in the environment, steps in order, a failure stops the rest")
    func events() async throws {
        try await withAgent { h in
            let out = h.root + "/event.out"
            try h.step("thing-changed", "10first", "#!/bin/sh\necho \"$AGENT_EVENT_SOURCE $AGENT_EVENT_NAME $AGENT_COMFD $(cat) $VAR1\" >> \(out)\n", kind: "events")
            try h.step("thing-changed", "20second", "#!/bin/sh\necho second >> \(out)\n", kind: "events")
            try h.step("broken", "10fail", "#!/bin/sh\necho fail >> \(out)\nexit 6\n", kind: "events")
            try h.step("broken", "20never", "#!/bin/sh\necho never >> \(out)\n", kind: "events")
            try "VAR1=v1\n".write(toFile: h.state + "/environment", atomically: true, encoding: .utf8)
            try await h.start()
            _ = try await h.admin.publish("module/mail1/event/thing-changed", #"{"id":1}"#)
            #expect(await h.waitForLog(#"Handler of module/mail1/event/thing-changed exited with status "completed" (0) at step 20second"#))
            _ = try await h.admin.publish("cluster/event/broken", "x")
            #expect(await h.waitForLog(#"Handler of cluster/event/broken exited with status "aborted" (6) at step 10fail"#))
            _ = try await h.admin.publish("cluster/event/no-handler", "x")
            _ = try await h.admin.publish("cluster/other/thing-changed", "x")
            try await Task.sleep(for: .milliseconds(300))
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
            #expect(lines == [#"module/mail1 thing-changed 2 {"id":1} v1"#, "second", "fail"])
        }
    }

    @Test("events beyond MAX_CONCURRENCY running handlers are dropped after OVERLOAD_SLEEP")
    func eventsBusy() async throws {
        try await withAgent { h in
            try h.step("slow", "10slow", "#!/bin/sh\nsleep 2\n", kind: "events")
            try await h.start(["MAX_CONCURRENCY": "1", "OVERLOAD_SLEEP": "100ms"])
            _ = try await h.admin.publish("cluster/event/slow", "1")
            try await Task.sleep(for: .milliseconds(200))
            _ = try await h.admin.publish("cluster/event/slow", "2")
            #expect(await h.waitForLog("Agent is busy. Event cluster/event/slow rejected!"))
            #expect(await h.waitForLog(#"Handler of cluster/event/slow exited with status "completed" (0)"#))
        }
    }
}

import Foundation
import NetTestSupport
import Testing

@Suite("nscore agent under systemd", .timeLimit(.minutes(2)))
struct AgentSystemdTests {
    @Test("READY once popping and subscribed, STATUS with running work, watchdog pings, STOPPING on SIGUSR1; steps do not see NOTIFY_SOCKET")
    func notify() async throws {
        try await withAgent { h in
            let notify = try NotifySocket(directory: h.root)
            try h.step("slow", "10slow", "#!/bin/sh\necho \"[$NOTIFY_SOCKET]\"\nsleep 0.6\n")
            try await h.start(["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
            let ready = await notify.waitFor("READY=1")
            #expect(ready.last?.contains("STATUS=0 tasks and 0 event handlers running") == true, "\(ready)")
            let id = try await h.submit("slow")
            let running = await notify.waitFor("STATUS=1 task and")
            #expect(running.last?.contains("STATUS=1 task and 0 event handlers running") == true, "\(running)")
            #expect(try await h.result(id).output == "[]\n")
            #expect(await notify.waitFor("WATCHDOG=1", timeout: .seconds(2)).contains("WATCHDOG=1"), "pings at half of WATCHDOG_USEC")
            kill(h.agent!.pid, SIGUSR1)
            #expect(await notify.waitFor("STOPPING=1").last?.contains("STOPPING=1") == true)
            #expect(await h.agent!.waitForExit() == 0)
        }
    }

    @Test("bad command lines and environment values are refused with a clear message (exit 64)")
    func usage() async throws {
        try await withAgent { h in
            for (env, args, text) in [
                ([String: String](), ["agent", "--agentid=module/test1"], "give at least one --actionsdir"),
                (["AGENT_POLLING_INTERVAL": "soon"], ["agent", "--agentid=module/test1", "--actionsdir", h.actions], "AGENT_POLLING_INTERVAL=soon"),
                (["MAX_CONCURRENCY": "0"], ["agent", "--agentid=module/test1", "--actionsdir", h.actions], "MAX_CONCURRENCY=0"),
                (["REDIS_ADDRESS": "host:port:x"], ["agent", "--agentid=module/test1", "--actionsdir", h.actions], "REDIS_ADDRESS"),
            ] {
                let p = try ExternalProcess(nscoreBinary, args, environment: h.environment(env), logPath: h.root + "/usage.log")
                #expect(await p.waitForExit() == 64, "\(args) \(env)")
                #expect(p.log.contains(text), "\(p.log)")
            }
        }
    }
}

import Foundation
import JSON
import NetTestSupport
import RESP
import Testing

/// One row of the outcome table: an action's steps, the task data, and what must come out.
struct OutcomeCase: CustomTestStringConvertible, Sendable {
    let name: String
    let steps: [(file: String, body: String)]
    var data = "null"
    let status: String
    let exitCode: Int
    var output: String? = nil
    var errorContains: String? = nil
    var lastStep: String

    var testDescription: String { name }
}

let outcomeCases: [OutcomeCase] = [
    OutcomeCase(name: "every step exits 0", steps: [("10a", "#!/bin/sh\necho -n a\n"), ("20b", "#!/bin/sh\necho -n b\n")],
                status: "completed", exitCode: 0, output: "ab", lastStep: "20b"),
    OutcomeCase(name: "a failing step stops the action with its code",
                steps: [("10fail", "#!/bin/sh\necho partial\necho oops >&2\nexit 3\n"), ("20never", "#!/bin/sh\necho never\n")],
                status: "aborted", exitCode: 3, output: "partial\n", errorContains: "oops", lastStep: "10fail"),
    OutcomeCase(name: "an action without steps is not defined", steps: [],
                status: "aborted", exitCode: 8, output: "", errorContains: "is not defined\n", lastStep: "{unknown}"),
    OutcomeCase(name: "set-status validation-failed with exit 0 gives 10",
                steps: [("10check", "#!/bin/sh\necho set-status validation-failed >&3\n"), ("20never", "#!/bin/sh\necho never\n")],
                status: "validation-failed", exitCode: 10, lastStep: "10check"),
    OutcomeCase(name: "set-status validation-failed keeps the step's own code",
                steps: [("10check", "#!/bin/sh\necho 'set-status validation-failed' >&3\nexit 4\n")],
                status: "validation-failed", exitCode: 4, lastStep: "10check"),
    OutcomeCase(name: "input failing its schema gives 10 and the error array",
                steps: [("validate-input.json", #"{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":3},"secret":{"type":"string","maxLength":2}}}"#),
                        ("10never", "#!/bin/sh\necho never\n")],
                data: #"{"name":"ab","secret":"hunter2"}"#, status: "validation-failed", exitCode: 10,
                output: #"[{"parameter":"name","error":"name_string_gte","value":"ab","field":"name"},{"parameter":"secret","error":"secret_string_lte","value":"XXX","field":"secret"}]"#,
                errorContains: "Validation errors", lastStep: "validate-input.json"),
    OutcomeCase(name: "output failing its schema gives 1",
                steps: [("10out", "#!/bin/sh\necho '{\"n\": \"x\"}'\n"), ("validate-output.json", #"{"properties":{"n":{"type":"integer"}}}"#)],
                status: "aborted", exitCode: 1, output: "{\"n\": \"x\"}\n", errorContains: "Validation errors", lastStep: "validate-output.json"),
    OutcomeCase(name: "an unreadable schema file gives 1",
                steps: [("validate-input.json", "{ not json"), ("10never", "#!/bin/sh\necho never\n")],
                status: "aborted", exitCode: 1, errorContains: "Validation errors", lastStep: "validate-input.json"),
    OutcomeCase(name: "valid input and output pass through",
                steps: [("validate-input.json", #"{"type":"object","properties":{"n":{"type":"integer"}}}"#),
                        ("10echo", "#!/bin/sh\ncat\n"), ("validate-output.json", #"{"required":["n"]}"#)],
                data: #"{"n":7}"#, status: "completed", exitCode: 0, output: #"{"n":7}"#, lastStep: "validate-output.json"),
    OutcomeCase(name: "a step killed by a signal gives -1",
                steps: [("10die", "#!/bin/sh\nkill -KILL $$\n")], status: "aborted", exitCode: -1, lastStep: "10die"),
]

@Suite("nscore agent: tasks", .timeLimit(.minutes(3)))
struct AgentTaskTests {
    @Test("outcomes: status, exit code, output, error, log line", arguments: outcomeCases)
    func outcome(_ c: OutcomeCase) async throws {
        try await withAgent { h in
            let action = "case-" + c.name.split(separator: " ").prefix(3).joined(separator: "-")
            try FileManager.default.createDirectory(atPath: h.actions + "/" + action, withIntermediateDirectories: true)
            for s in c.steps { try h.step(action, s.file, s.body, mode: s.file.hasSuffix(".json") ? 0o644 : 0o755) }
            try await h.start()
            let id = try await h.submit(c.steps.isEmpty ? "nope" : action, data: c.data)
            let r = try await h.result(id)
            #expect(r.exitCode == c.exitCode, "\(r)\n\(h.log)")
            if let output = c.output { #expect(r.output == output) }
            if let e = c.errorContains { #expect(r.error.contains(e), "\(r.error)") }
            #expect(!r.output.contains("never"))
            #expect(h.progress(id).last == #"{"status":"\#(c.status)","progress":\#(h.progress(id).last?.split(separator: ":").last?.dropLast() ?? "0")}"#)
            let expected = "task/module/test1/\(id): action \"\(c.steps.isEmpty ? "nope" : action)\" status is \"\(c.status)\" (\(c.exitCode)) at step \(c.lastStep)"
            #expect(await h.waitForLog(expected), "\(h.log)")
        }
    }

    @Test("the Redis writes of a task, in order, in lower case, with their TTLs")
    func redisWrites() async throws {
        try await withAgent { h in
            try h.step("greet", "10greet", "#!/bin/sh\necho '{\"hello\":1}'\necho VAR1=one >> ./environment\necho VAR2=two >> ./environment\necho VAR1=uno >> ./environment\n")
            try await h.start()
            let id = try await h.submit("greet", data: #"{"x":1}"#)
            _ = try await h.result(id)
            let all = h.agentCommands()
            #expect(all.contains { $0.arguments == ["client", "setname", AgentHarness.agentID] })
            #expect(all.contains { $0.arguments == ["brpop", "module/test1/tasks", "1"] })
            #expect(all.contains { $0.arguments == ["psubscribe", "*/event/*"] })
            let base = "task/module/test1/\(id)/"
            let channel = "progress/module/test1/task/\(id)"
            let exitAt = try #require(all.firstIndex { $0.arguments.first == "set" && $0.arguments[1] == base + "exit_code" })
            let client = all[exitAt].client
            let multiAt = try #require(all[..<exitAt].lastIndex { $0.client == client && $0.arguments == ["multi"] })
            let execAt = try #require(all[exitAt...].firstIndex { $0.client == client && $0.arguments == ["exec"] })
            let before = all[..<multiAt].map(\.arguments).filter { $0.contains { $0.contains(id) } }
            #expect(before == [
                ["set", base + "context", #"{"id":"\#(id)","action":"greet","data":{"x":1}}"#, "ex", "60"],
                ["publish", channel, #"{"status":"pending","progress":0}"#],
                ["publish", channel, #"{"status":"running","progress":0}"#],
                ["publish", channel, #"{"status":"running","progress":100}"#],
            ])
            #expect(all[multiAt...execAt].map(\.arguments) == [
                ["multi"],
                ["del", "module/test1/environment"],
                ["hset", "module/test1/environment", "VAR1", "uno", "VAR2", "two"],
                ["set", base + "output", "{\"hello\":1}\n", "ex", "28800"],
                ["set", base + "error", "", "ex", "28800"],
                ["set", base + "exit_code", "0", "ex", "28800"],
                ["expire", base + "context", "28800"],
                ["publish", channel, #"{"status":"completed","progress":100}"#],
                ["exec"],
            ])
            for key in ["context", "output", "error", "exit_code"] {
                let ttl = try await h.admin.ttl(base + key)
                #expect((28790...28800).contains(ttl), "\(key) TTL \(ttl)")
            }
            #expect(try await h.admin.hgetall("module/test1/environment") == ["VAR1": "uno", "VAR2": "two"])
        }
    }

    @Test("secrets are masked in the context at any depth; arrays and numbers stay as they are")
    func obfuscation() async throws {
        try await withAgent { h in
            try h.step("store", "10ok", "#!/bin/sh\ncat > /dev/null\n")
            try await h.start()
            let data = #"{"user":"u","password":"p1","nested":{"apiToken":"t","list":[{"db_pass":"x","n":1.5}],"PublicKey":"k"},"port":636,"tags":["a","b"]}"#
            let id = try await h.submit("store", data: data)
            _ = try await h.result(id)
            let context = try #require(try await h.get("task/module/test1/\(id)/context"))
            #expect(try JSONValue.parse(context)["data"] == JSONValue.parse(
                #"{"user":"u","password":"XXX","nested":{"apiToken":"XXX","list":[{"db_pass":"XXX","n":1.5}],"PublicKey":"XXX"},"port":636,"tags":["a","b"]}"#))
            #expect(!h.log.contains("p1") && !h.agentCommands().contains { $0.arguments.contains { $0.contains("\"p1\"") } })
        }
    }

    @Test("steps see ./environment (re-read before each step), AGENT_* variables and data on stdin")
    func environment() async throws {
        try await withAgent { h in
            try "VAR1=from-file\nBROKEN LINE\n".write(toFile: h.state + "/environment", atomically: true, encoding: .utf8)
            try h.step("env", "10print", "#!/bin/sh\necho \"$VAR1|$AGENT_TASK_USER|$AGENT_TASK_ACTION|$AGENT_TASK_ID|$AGENT_COMFD|$(cat)\"\necho VAR1=changed >> ./environment\n")
            try h.step("env", "20again", "#!/bin/sh\necho \"$VAR1\"\n")
            try await h.start()
            let id = try await h.submit("env", data: #"{"k":[1,2]}"#, user: "admin")
            let r = try await h.result(id)
            #expect(r.output == "from-file|admin|env|\(id)|3|{\"k\":[1,2]}\nchanged\n", "\(r)")
        }
    }

    @Test("list-actions names every action plus the builtins; a queue item that is not JSON is logged and dropped")
    func listActionsAndGarbage() async throws {
        try await withAgent { h in
            try h.step("alpha", "10a", "#!/bin/sh\n")
            try h.step("beta", "10b", "#!/bin/sh\n")
            try await h.start()
            try await h.push("INVALID_JSON_STRING")
            let id = try await h.submit("list-actions")
            let r = try await h.result(id)
            #expect(r.exitCode == 0)
            #expect(try JSONValue.parse(r.output) == JSONValue.parse(#"["alpha","beta","list-actions","cancel-task"]"#))
            #expect(await h.waitForLog("Task ignored for decoding error: invalid character 'I' looking for beginning of value"))
        }
    }

    @Test("a step that vanished or lost its exec bit is skipped with the warning and counts as done")
    func skippedSteps() async throws {
        try await withAgent { h in
            try h.step("skip", "10remove", "#!/bin/sh\nrm \"$(dirname \"$0\")/20gone\"\nchmod -x \"$(dirname \"$0\")/30plain\"\necho -n first\n")
            try h.step("skip", "20gone", "#!/bin/sh\necho gone\n")
            try h.step("skip", "30plain", "#!/bin/sh\necho plain\n")
            try h.step("skip", "40last", "#!/bin/sh\necho -n ' last'\n")
            try await h.start()
            let id = try await h.submit("skip")
            let r = try await h.result(id)
            #expect(r.exitCode == 0)
            #expect(r.output == "first last")
            #expect(h.log.contains("Action skip skipped step 20gone: "), "\(h.log)")
            #expect(h.log.contains("Action skip skipped step 30plain: fork/exec"), "\(h.log)")
            #expect(h.progress(id).last == #"{"status":"completed","progress":100}"#)
        }
    }

    @Test("progress with weights 0,5,2,1,2 and set-progress 25/50/75/99: every published value")
    func weightedProgress() async throws {
        try await withAgent { h in
            let report = "for p in 25 50 75 99; do echo \"set-progress $p\" >&3; sleep 0.05; done\n"
            try h.step("weights", "00weights", "#!/bin/sh\necho 'set-weight 00weights 0' >&3\necho 'set-weight 10big 5' >&3\necho 'set-weight 20mid 2' >&3\necho 'set-weight \"40end\" 2' >&3\necho 'set-weight UNKNOWN 7' >&3\necho 'set-progress 999' >&3\necho 'bogus' >&3\n")
            for (file, _) in [("10big", 5), ("20mid", 2), ("30one", 1), ("40end", 2)] {
                try h.step("weights", file, "#!/bin/sh\n" + report)
            }
            try await h.start()
            let id = try await h.submit("weights")
            #expect(try await h.result(id).exitCode == 0)
            let values = h.progress(id).compactMap { try? JSONValue.parse($0)["progress"] }.map { $0.serialized }
            // total 1000: 10big 5·p/10, then 500 + 20mid 2·p, 700 + 30one p, 800 + 40end 2·p; ⌊·⌋
            #expect(values == ["0", "0", "0",
                               "12", "25", "37", "49", "50",
                               "55", "60", "65", "69", "70",
                               "72", "75", "77", "79", "80",
                               "85", "90", "95", "99", "100", "100"], "\(values)")
            #expect(h.log.contains("set-weight command failed: Step UNKNOWN not found"))
            #expect(h.log.contains("set-progress command failed: Invalid step progress value: 999"))
            #expect(h.log.contains("Unknown command bogus"))
        }
    }
}

@Suite("nscore agent: several action directories", .timeLimit(.minutes(2)))
struct AgentDirectoriesTests {
    @Test("an action is the union of its directories, the later winning for a file; stderr is copied to the agent log")
    func merged() async throws {
        try await withAgent { h in
            let second = h.root + "/actions2"
            try h.step("merged", "10base", "#!/bin/sh\necho -n base\n")
            try h.step("merged", "20override", "#!/bin/sh\necho -n first-dir\n")
            for (file, body) in [("20override", "#!/bin/sh\necho -n ' second-dir'\necho live-stderr-line >&2\n"), ("30extra", "#!/bin/sh\necho -n ' extra'\n")] {
                try FileManager.default.createDirectory(atPath: second + "/merged", withIntermediateDirectories: true)
                try body.write(toFile: second + "/merged/" + file, atomically: true, encoding: .utf8)
                chmod(second + "/merged/" + file, 0o755)
            }
            try await h.start(arguments: ["agent", "--agentid", AgentHarness.agentID, "--actionsdir", h.actions, "--actionsdir=\(second)"])
            let r = try await h.result(try await h.submit("merged"))
            #expect(r.output == "base second-dir extra")
            #expect(h.log.contains("live-stderr-line"))
        }
    }
}

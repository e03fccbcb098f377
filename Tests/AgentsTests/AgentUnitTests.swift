@testable import Agents
import Foundation
import JSON
import NetTestSupport
import Testing

@Suite("Agents: command pipe, progress, catalog, durations, task envelope")
struct AgentUnitTests {
    @Test("command lines: space-separated, quoted fields, CRLF; bad ones refused with a reason")
    func commands() throws {
        #expect(try StepCommand.parse("set-progress 42") == .setProgress(42))
        #expect(try StepCommand.parse("set-progress 42\r") == .setProgress(42))
        #expect(try StepCommand.parse(#"set-weight "10 my step" 3"#) == .setWeight(step: "10 my step", weight: 3))
        #expect(try StepCommand.parse(#"set-weight "a""b" 0"#) == .setWeight(step: #"a"b"#, weight: 0))
        #expect(try StepCommand.parse("set-status validation-failed") == .setValidationFailed)
        let refused: [(String, String)] = [
            ("set-progress 999", "Invalid step progress value: 999"), ("set-progress x", "invalid syntax"),
            ("set-progress", "missing"), ("set-weight s -1", "Invalid step weight value: -1"), ("set-weight s", "missing"),
            ("set-status done", "unknown status"), ("bogus", "Unknown command bogus"), (#"set-weight "open 1"#, "quoted"),
            (#"set-weight a"b 1"#, "bare \""), ("", "empty"),
        ]
        for (line, reason) in refused {
            #expect(throws: StepCommand.Refusal.self) { try StepCommand.parse(Substring(line)) }
            do { _ = try StepCommand.parse(Substring(line)) } catch { #expect(error.reason.contains(reason), "\(line): \(error.reason)") }
        }
    }

    @Test("progress: weights, validation files at 0, floor division, all-zero weights keep the value")
    func progress() {
        var p = ActionProgress(steps: ["validate-input.json", "10a", "20b", "validate-output.json"])
        #expect(p.weights == [0, 1, 1, 0])
        p.set(step: 1, progress: 33)
        #expect(p.progress == 16)
        p.set(step: 2, progress: 100)
        #expect(p.progress == 100)
        let known = p.setWeight("10a", 3), unknown = p.setWeight("nope", 1)
        #expect(known && !unknown)
        p.set(step: 2, progress: 50)
        #expect(p.progress == 87)
        p.status = .validationFailed
        #expect(p.message == #"{"status":"validation-failed","progress":87}"#)
        var zero = ActionProgress(steps: ["validate-input.json"])
        zero.set(step: 0, progress: 100)
        #expect(zero.progress == 0)
    }

    @Test("durations as the platform writes them")
    func durations() {
        #expect(GoDuration.parse("75ms") == .milliseconds(75))
        #expect(GoDuration.parse("5s") == .seconds(5))
        #expect(GoDuration.parse("1m") == .seconds(60))
        #expect(GoDuration.parse("1h30m") == .seconds(5400))
        #expect(GoDuration.parse("1.5s") == .milliseconds(1500))
        #expect(GoDuration.parse("0") == .zero)
        for bad in ["", "5", "s", "-1s", "5 s", "1..5s", "3d"] { #expect(GoDuration.parse(bad) == nil, "\(bad)") }
    }

    @Test("steps: union over directories, later wins, byte order, validation files first and last, directories ignored")
    func catalog() throws {
        let root = try makeTempDirectory(prefix: "nscore-catalog")
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (dir, files) in [("a", ["20b", "10a", "validate-output.json", "Z9"]), ("b", ["10a", "validate-input.json", "05x"])] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)/act/sub", withIntermediateDirectories: true)
            for f in files { try "".write(toFile: "\(root)/\(dir)/act/\(f)", atomically: true, encoding: .utf8) }
        }
        let catalog = ActionCatalog(directories: [root + "/a", root + "/b", root + "/missing"])
        let steps = catalog.steps(of: "act")
        #expect(steps.map(\.name) == ["validate-input.json", "05x", "10a", "20b", "Z9", "validate-output.json"])
        #expect(steps.first { $0.name == "10a" }?.path == root + "/b/act/10a")
        #expect(catalog.steps(of: "../a").isEmpty)
        #expect(catalog.steps(of: "none").isEmpty)
        #expect(catalog.names() == ["act"])
    }

    @Test("queue items: the platform's decoding error texts; id and action required")
    func envelope() throws {
        let task = try AgentTask.decode(#"{"id":"1","action":"a","data":{"x":[1]},"user":"u","extra":{"k":1}}"#)
        #expect(task.data == (try JSONValue.parse(#"{"x":[1]}"#)))
        #expect(task.user == "u")
        for (item, reason) in [("INVALID", "invalid character 'I' looking for beginning of value"), ("", "unexpected end of JSON input"),
                               ("\"s\"", "cannot unmarshal string"), (#"{"action":"a"}"#, #"no "id""#),
                               (#"{"id":1,"action":"a"}"#, "cannot unmarshal number"), (#"{"id":"a/b","action":"a"}"#, "not usable")] {
            do { _ = try AgentTask.decode(item); Issue.record("\(item) decoded") } catch { #expect(error.reason.contains(reason), "\(item): \(error.reason)") }
        }
    }

    @Test("./environment: KEY=VALUE lines, others ignored; the Redis copy has one field per key, the last value")
    func stateEnvironment() {
        let pairs = StateEnvironment.parse("A=1\nnot a pair\n=x\nB=two=2\nA=3\n\n")
        #expect(pairs.map { "\($0.key)=\($0.value)" } == ["A=1", "B=two=2", "A=3"])
        #expect(StateEnvironment.deduplicated(pairs).map { "\($0.key)=\($0.value)" } == ["A=3", "B=two=2"])
    }
}

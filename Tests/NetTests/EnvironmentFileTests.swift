import Net
import Testing

@Suite("Environment files")
struct EnvironmentFileTests {
    @Test("KEY=VALUE lines, comments, quotes")
    func parse() throws {
        let env = try EnvironmentFile.parse("""
            # comment
            ; also a comment

            REDIS_USER=module/mail1
            REDIS_PASSWORD="p w=1"
            AGENT_ID='module/mail1'
            EMPTY=
            """)
        #expect(env == ["REDIS_USER": "module/mail1", "REDIS_PASSWORD": "p w=1", "AGENT_ID": "module/mail1", "EMPTY": ""])
    }

    @Test("a bad line is named")
    func badLine() {
        #expect(throws: EnvironmentFileError.badLine(2, "expected KEY=VALUE")) { try EnvironmentFile.parse("A=1\nnot a pair\n") }
        #expect(throws: EnvironmentFileError.self) { try EnvironmentFile.parse("1A=x") }
        #expect(throws: EnvironmentFileError.self) { try EnvironmentFile.load(path: "/nonexistent/agent.env") }
    }
}

import Logging
import Net
import Testing

@Suite("console log handler")
struct LogHandlerTests {
    @Test("journald priorities follow syslog")
    func priorities() {
        #expect(ConsoleLogHandler.syslogPriority(.critical) == 2)
        #expect(ConsoleLogHandler.syslogPriority(.error) == 3)
        #expect(ConsoleLogHandler.syslogPriority(.warning) == 4)
        #expect(ConsoleLogHandler.syslogPriority(.notice) == 5)
        #expect(ConsoleLogHandler.syslogPriority(.info) == 6)
        #expect(ConsoleLogHandler.syslogPriority(.debug) == 7)
    }

    @Test("log levels parse case-insensitively; unknown ones do not")
    func levels() {
        #expect(LogSetup.parseLevel("DEBUG") == .debug)
        #expect(LogSetup.parseLevel("warning") == .warning)
        #expect(LogSetup.parseLevel("loud") == nil)
    }
}

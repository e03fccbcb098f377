import Edge
import Foundation
import Logging
import Net
import NetTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Keeps the lines logged through it (message and metadata, as ``ConsoleLogHandler`` writes them after
/// its prefix), for tests that read a log.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    /// A logger at `level` whose lines land here.
    func logger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "test.edge") { _ in Handler(sink: self) }
        logger.logLevel = level
        return logger
    }

    /// The lines logged so far, each `message key=value …`.
    var all: [String] { lines.withLock { $0 } }
    /// The access-log lines (metadata `log=access`).
    var access: [String] { all.filter { $0.hasSuffix(" log=access") } }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var line = ""
            ConsoleLogHandler.appendBody(event.message, metadata, event.metadata, to: &line)  // as the console writes it
            sink.append(line)
        }
    }
}

@Suite("Edge: access log (one line per request)", .timeLimit(.minutes(2)))
struct AccessLogTests {
    @Test("a line per request with client, host, method, path, status, bytes, duration and route; a client that resets is 499 at once, one that half-closes is still answered (504 here), a backend that vanishes mid-response is noted")
    func accessLines() async throws {
        let log = LogLines()
        try await withEdge([["instance": "app", "url": "http://BACKEND", "host": "app.test"]], responseTimeout: .seconds(2), logger: log.logger()) { port, _ in
            let ok = try await curl(["-H", "Host: app.test", "http://127.0.0.1:\(port)/hello?x=1"])
            #expect(ok.output.hasPrefix("GET /hello?x=1\n"), "\(ok.output)")
            let answered = await waitFor { log.access.contains { $0.hasPrefix("127.0.0.1 app.test GET /hello?x=1 200 ") } }
            let line = log.access.first { $0.contains("/hello?x=1") } ?? ""
            #expect(answered, "\(log.all)")
            // client host method path status bytes duration route
            let fields = line.split(separator: " ").map(String.init)
            #expect(fields.count >= 8 && Int(fields[5]) ?? 0 > 0 && fields[6].hasSuffix("ms") && fields[7] == "app", "\(line)")

            // The backend never answers /slow. A client that resets its connection while it waits: 499, at once.
            let resetting = try await CollectingClient.connect(port: port, group: edgeTestLoops)
            try await resetting.send("GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n")
            try await Task.sleep(for: .milliseconds(200))
            let sockets = try #require(resetting.channel as? any SocketOptionProvider)
            try await sockets.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()  // close() sends a reset
            await resetting.close()
            let abandoned = await waitFor { log.access.contains { $0.hasPrefix("127.0.0.1 app.test GET /slow 499 0 ") && $0.contains("app (client closed before the response)") } }
            #expect(abandoned, "\(log.access)")
            // One that only ends its side (curl giving up closes with a FIN) may still be reading: it is
            // answered, here with the 504 of the response timeout, and the line says the client had ended its side.
            let gaveUp = try await curl(["--max-time", "1", "-H", "Host: app.test", "http://127.0.0.1:\(port)/slow"])
            #expect(gaveUp.status == 28, "curl timed out: \(gaveUp.output)")
            let timedOut = await waitFor { log.access.contains { $0.hasPrefix("127.0.0.1 app.test GET /slow 504 ") && $0.contains("app (client had ended its side)") } }
            #expect(timedOut, "\(log.access)")

            // The backend promises 1,000 bytes, sends 10 and closes: the 200 and its 10 bytes, noted as cut.
            _ = try await curl(["-o", "/dev/null", "-H", "Host: app.test", "http://127.0.0.1:\(port)/cut"])
            let cut = await waitFor { log.access.contains { $0.hasPrefix("127.0.0.1 app.test GET /cut 200 10 ") && $0.contains("(backend closed mid-response)") } }
            #expect(cut, "\(log.access)")

            // A request without a route: answered by the edge, route "-".
            _ = try await curl(["-o", "/dev/null", "-H", "Host: other.test", "http://127.0.0.1:\(port)/x"])
            let unrouted = await waitFor { log.access.contains { $0.hasPrefix("127.0.0.1 other.test GET /x 404 ") && $0.hasSuffix(" - log=access") } }
            #expect(unrouted, "\(log.access)")
        }
    }
}

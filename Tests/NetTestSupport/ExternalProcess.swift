import Foundation

/// A server process started by a test (redis-server, slapd, nscore…),
/// stopped by PID; its output goes to a log file in its temp dir.
public final class ExternalProcess: @unchecked Sendable {
    public let process: Process
    public let logPath: String

    public init(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                logPath: String, stderrPipe: Pipe? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = stderrPipe ?? log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }

    /// Sends `signal` and waits up to `timeout` for the exit; kills it after that.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) async -> Int32 {
        if process.isRunning { kill(pid, signal) }
        let exited = await waitFor(timeout: timeout) { !self.process.isRunning }
        if !exited {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A private redis-server on a free loopback port with its own temp dir.
public final class RedisServer: Sendable {
    public let port: Int
    public let directory: String
    private let process: ExternalProcess

    public init(extraArguments: [String] = []) async throws {
        directory = try makeTempDirectory(prefix: "nscore-redis")
        port = freePort()
        process = try ExternalProcess("/usr/bin/redis-server",
                                      ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                       "--dir", directory] + extraArguments,
                                      logPath: directory + "/redis.log")
        let up = await waitFor(timeout: .seconds(10)) { self.ping() }
        guard up else { throw CommandFailed(command: "redis-server", status: -1, output: process.log) }
    }

    /// True when `PING` gets `+PONG` over a fresh connection.
    public func ping() -> Bool { (try? rawExchange(port: port, send: "PING\r\n", expect: 7)) == "+PONG\r\n" }

    public func stop() async { await process.stop() }
}

/// Connects with a blocking socket, sends `send`, reads until `expect` bytes
/// or EOF (2 s receive timeout); for tiny protocol checks in tests.
public func rawExchange(port: Int, send: String, expect: Int) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    let rc = withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    let bytes = Array(send.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { throw POSIXError(.EIO) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while received.count < expect {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        received += buffer[0..<n]
    }
    return String(decoding: received, as: UTF8.self)
}

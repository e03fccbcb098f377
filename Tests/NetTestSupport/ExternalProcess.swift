import CTestSupport
import Foundation
import Synchronization

/// A server process started by a test (redis-server, slapd, nscore…),
/// stopped by PID; its output goes to a log file in its temp dir.
///
/// Spawned with posix_spawn and a clean signal mask and dispositions: test
/// runners call from threads that block signals, and a child inheriting that
/// mask would ignore SIGTERM.
public final class ExternalProcess: @unchecked Sendable {
    public let pid: pid_t
    public let logPath: String
    private var exitStatus: Int32?

    /// - Parameter stderrFD: where the child's stderr goes (default: the log file).
    /// - Parameter workingDirectory: where the child starts (default: ours).
    public init(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                logPath: String, stderrFD: Int32? = nil, workingDirectory: String? = nil) throws {
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let stderrFD {
            posix_spawn_file_actions_adddup2(&actions, stderrFD, 2)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing else: a pipe another test holds open (to read its child's
        // output to EOF) must not leak into this long-lived server.
        nscore_spawn_closefrom(&actions, 3)
        if let workingDirectory { nscore_spawn_chdir(&actions, workingDirectory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in env { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, argv, env)
        guard rc == 0 else {
            throw CommandFailed(command: path, status: rc, output: String(cString: strerror(rc)))
        }
        pid = child
    }

    /// True until the process has exited (and been reaped).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return false
        }
        return r == 0
    }

    /// Waits up to `timeout` for the process to exit by itself (killed after that).
    /// - Returns: the exit status.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32 {
        await stop(signal: 0, timeout: timeout)
    }

    /// Sends `signal` and waits up to `timeout` for the exit; kills it after that.
    /// - Returns: the exit status (128+N when killed by signal N).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) async -> Int32 {
        if isRunning { kill(pid, signal) }
        let exited = await waitFor(timeout: timeout) { !self.isRunning }
        if !exited {
            kill(pid, SIGKILL)
            _ = await waitFor(timeout: .seconds(5)) { !self.isRunning }
        }
        return exitStatus ?? -1
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// A private redis-server on a free loopback port with its own temp dir.
public final class RedisServer: Sendable {
    public let port: Int
    public let directory: String
    private let arguments: [String]
    private let process: Mutex<ExternalProcess>

    public init(port: Int? = nil, extraArguments: [String] = []) async throws {
        directory = try makeTempDirectory(prefix: "nscore-redis")
        // A port free a moment ago may be taken by another suite's server meanwhile:
        // then ours exits ("Address already in use") and we try another one.
        var attempt = 0
        while true {
            attempt += 1
            let chosen = port ?? freePort()
            let args = ["--port", "\(chosen)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", directory] + extraArguments
            let spawned = try Self.spawn(args, directory: directory)
            let ours = await waitFor(timeout: .seconds(10)) {
                if !spawned.isRunning { return true }
                return await Self.serverPID(port: chosen) == spawned.pid
            }
            if ours, spawned.isRunning {
                self.port = chosen
                arguments = args
                process = Mutex(spawned)
                return
            }
            await spawned.stop(signal: SIGKILL)
            if port != nil || attempt >= 5 {
                throw CommandFailed(command: "redis-server --port \(chosen)", status: -1, output: spawned.log)
            }
        }
    }

    /// The `process_id` the server on `port` reports (nil when nothing or something else answers).
    static func serverPID(port: Int) async -> pid_t? {
        try? await blockingPool.runIfActive {
            let reply = try rawExchangeBlocking(port: port, send: "INFO server\r\n") { text in
                guard let r = text.firstRange(of: "process_id:") else { return false }
                return text[r.upperBound...].contains("\r\n")
            }
            guard let range = reply.firstRange(of: "process_id:") else { return nil }
            return pid_t(reply[range.upperBound...].prefix { $0.isNumber })
        } ?? nil
    }

    private static func spawn(_ arguments: [String], directory: String) throws -> ExternalProcess {
        try ExternalProcess("/usr/bin/redis-server", arguments, logPath: directory + "/redis.log")
    }

    private func waitUntilUp() async throws {
        let pid = process.withLock { $0.pid }
        let up = await waitFor(timeout: .seconds(10)) { await Self.serverPID(port: self.port) == pid }
        guard up else { throw CommandFailed(command: "redis-server", status: -1, output: process.withLock { $0.log }) }
    }

    /// True when `PING` gets `+PONG` over a fresh connection.
    public func ping() async -> Bool { (try? await rawExchange(port: port, send: "PING\r\n", expect: 7)) == "+PONG\r\n" }

    /// Kills the server with SIGKILL (no goodbye to clients) and waits for it to die.
    public func kill9() async {
        let p = process.withLock { $0 }
        await p.stop(signal: SIGKILL)
    }

    /// Starts the server again on the same port (after ``kill9()``).
    public func restart() async throws {
        let p = try Self.spawn(arguments, directory: directory)
        process.withLock { $0 = p }
        try await waitUntilUp()
    }

    /// Stops the server by PID and removes its directory.
    public func stop() async {
        let p = process.withLock { $0 }
        await p.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a fresh redis-server and stops it (by PID) afterwards,
/// whether `body` returns or throws.
public func withRedisServer<T>(extraArguments: [String] = [], _ body: (RedisServer) async throws -> T) async throws -> T {
    let redis = try await RedisServer(extraArguments: extraArguments)
    do {
        let result = try await body(redis)
        await redis.stop()
        return result
    } catch {
        await redis.stop()
        throw error
    }
}

/// Connects with a blocking socket, sends `send`, reads until `expect` bytes
/// or EOF (2 s receive timeout); for tiny protocol checks in tests. The
/// socket calls run on ``blockingPool``, never on the cooperative pool.
public func rawExchange(port: Int, send: String, expect: Int) async throws -> String {
    try await rawExchange(port: port, send: send) { $0.utf8.count >= expect }
}

/// Like ``rawExchange(port:send:expect:)``, reading until `done` says the reply is complete.
public func rawExchange(port: Int, send: String, until done: @escaping @Sendable (String) -> Bool) async throws -> String {
    try await blockingPool.runIfActive { try rawExchangeBlocking(port: port, send: send, until: done) }
}

/// The blocking body of ``rawExchange(port:send:until:)``; call it on ``blockingPool`` only.
func rawExchangeBlocking(port: Int, send: String, until done: (String) -> Bool) throws -> String {
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
    while !done(String(decoding: received, as: UTF8.self)) {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        received += buffer[0..<n]
    }
    return String(decoding: received, as: UTF8.self)
}

import Foundation
import NetTestSupport
import NIOPosix
import RESP
import Testing

/// Every resp-proxy suite, one test at a time: each runs two redis-servers,
/// a proxy and many clients, and run together they starve other suites' timers.
@Suite("nscore resp-proxy", .serialized)
struct RESPProxySuites {}

/// A leader and its replica (real redis-servers, the platform's ACL users
/// loaded on both) and `nscore resp-proxy` in front of them.
final class ProxyHarness: @unchecked Sendable {
    static let clusterPassword = "cluster-secret"
    static let modulePassword = "pw-mail1"
    let leader: RedisServer
    let replica: RedisServer
    let root: String
    let port: Int
    private(set) var proxy: ExternalProcess?
    var statusSocket: String { root + "/status.sock" }
    var logPath: String { root + "/proxy.log" }

    private init(leader: RedisServer, replica: RedisServer, root: String) {
        self.leader = leader
        self.replica = replica
        self.root = root
        port = freePort()
    }

    static func make(replicaOf: RedisServer? = nil) async throws -> ProxyHarness {
        // No 5 s wait before the replica's first sync.
        let leader = try await RedisServer(extraArguments: ["--repl-diskless-sync-delay", "0"])
        try await loadACL(port: leader.port)
        let replica = try await RedisServer(extraArguments: ["--replicaof", "127.0.0.1", "\(leader.port)",
                                                             "--masteruser", "cluster", "--masterauth", clusterPassword])
        try await loadACL(port: replica.port)
        let h = ProxyHarness(leader: leader, replica: replica, root: try makeTempDirectory(prefix: "nscore-resp-proxy"))
        let linked = await waitFor(timeout: .seconds(10)) {
            (try? await h.cli(replica.port, ["INFO", "replication"], user: "cluster", password: clusterPassword))?.contains("master_link_status:up") == true
        }
        guard linked else { throw CommandFailed(command: "replica of \(leader.port)", status: -1, output: "replication did not start") }
        // After a diskless sync the leader streams writes only once the replica's first ACK came (up to a second).
        try await h.cli(leader.port, ["SET", "cluster/harness-ready", "1"], user: "cluster", password: clusterPassword)
        let streaming = await waitFor(timeout: .seconds(10)) { (try? await h.cli(replica.port, ["GET", "cluster/harness-ready"])) == "1\n" }
        guard streaming else { throw CommandFailed(command: "replica of \(leader.port)", status: -1, output: "writes are not replicated") }
        return h
    }

    /// The ACL users of REDIS-LAYOUT.md: cluster, module/mail1, and the restricted default.
    static func loadACL(port: Int) async throws {
        let c = try await RedisConnection.connect(host: "127.0.0.1", port: port, group: .singletonMultiThreadedEventLoopGroup)
        _ = try await c.command(["ACL", "SETUSER", "cluster", "on", ">" + clusterPassword, "~*", "&*", "+@all"])
        _ = try await c.command(["ACL", "SETUSER", "module/mail1", "ON", ">" + modulePassword, "resetkeys", "~module/mail1/*",
                                 "~task/module/mail1/*", "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/agents/*",
                                 "resetchannels", "&progress/module/mail1/*", "&module/mail1/event/*", "+@read", "+@write",
                                 "+@transaction", "+@connection", "+publish", "-@admin"])
        _ = try await c.command(["ACL", "SETUSER", "default", "ON", "nopass", "resetkeys", "~cluster/*", "~node/*", "~module/*",
                                 "resetchannels", "&*", "nocommands", "+@read", "+@connection", "+subscribe", "+psubscribe", "-@admin"])
        await c.close()
    }

    /// Starts the proxy (extra flags appended) and waits until it answers PING.
    func start(_ extra: [String] = [], leader: Int? = nil) async throws {
        let args = ["resp-proxy", "--listen", "127.0.0.1:\(port)", "--replica", "127.0.0.1:\(replica.port)",
                    "--leader", "127.0.0.1:\(leader ?? self.leader.port)", "--status-socket", statusSocket] + extra
        proxy = try ExternalProcess(nscoreBinary, args, environment: ["PATH": "/usr/bin:/bin"], logPath: logPath)
        let up = await waitFor(timeout: .seconds(10)) { (try? await self.cli(self.port, ["PING"])) == "PONG\n" }
        guard up else { throw CommandFailed(command: "nscore resp-proxy", status: -1, output: log) }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// redis-cli against `port` (the proxy by default); stdout+stderr. The
    /// wait runs on NIO's blocking-I/O pool, not on a cooperative thread that
    /// other suites' timers need.
    @discardableResult
    func cli(_ port: Int? = nil, _ args: [String], user: String? = nil, password: String? = nil, resp3: Bool = false) async throws -> String {
        var argv = ["-p", "\(port ?? self.port)", "--no-auth-warning"]
        if let user { argv += ["--user", user, "--pass", password ?? ""] }
        if resp3 { argv.append("-3") }
        let all = argv + args
        return try await blockingPool.runIfActive { try runCommand("/usr/bin/redis-cli", all).output }
    }

    /// As the cluster user through the proxy.
    @discardableResult
    func cluster(_ args: String...) async throws -> String {
        try await cli(nil, args, user: "cluster", password: Self.clusterPassword)
    }

    /// `cmdstat_<name>` calls on a server (INFO commandstats).
    func calls(_ command: String, on port: Int) async throws -> Int {
        let info = try await cli(port, ["INFO", "commandstats"], user: "cluster", password: Self.clusterPassword)
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
              let range = line.firstRange(of: "calls=") else { return 0 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    func close() async {
        await proxy?.stop()
        await replica.stop()
        await leader.stop()
        try? FileManager.default.removeItem(atPath: root)
    }
}

func withProxy<T>(_ extra: [String] = [], _ body: (ProxyHarness) async throws -> T) async throws -> T {
    let h = try await ProxyHarness.make()
    do {
        try await h.start(extra)
        let r = try await body(h)
        await h.close()
        return r
    } catch {
        await h.close()
        throw error
    }
}

/// A raw socket client: send bytes, read what comes back (for exact-byte and protocol-error checks).
final class RawClient: @unchecked Sendable {  // used by one test at a time
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads until `count` bytes arrived, EOF, or the timeout (on NIO's blocking pool).
    func read(_ count: Int) async -> String {
        (try? await blockingPool.runIfActive { self.readSync(count) }) ?? ""
    }

    /// Reads until what arrived ends with `suffix` `count` times (or EOF, or the timeout), on NIO's blocking pool.
    func read(until suffix: String, count: Int = 1) async -> String {
        (try? await blockingPool.runIfActive { self.readSync(until: suffix, count: count) }) ?? ""
    }

    /// True when the peer closed (read returns 0).
    func isClosedByPeer() async -> Bool {
        (try? await blockingPool.runIfActive { self.closedSync() }) ?? false
    }

    private func readSync(_ count: Int) -> String {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func readSync(until suffix: String, count: Int) -> String {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let want = Array(suffix.utf8)
        func done() -> Bool {
            guard out.count >= want.count, Array(out.suffix(want.count)) == want else { return false }
            return String(decoding: out, as: UTF8.self).ranges(of: suffix).count >= count
        }
        while !done() {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    fileprivate func readBytesSync(until done: ([UInt8]) -> Bool) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !done(out) {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    private func closedSync() -> Bool {
        var byte: UInt8 = 0
        return Glibc.read(fd, &byte, 1) == 0
    }

    deinit { close(fd) }
}

extension RawClient {
    /// Reads bytes until `done` holds for what arrived (or EOF, or the timeout), on NIO's blocking pool.
    func readBytes(until done: @escaping @Sendable ([UInt8]) -> Bool) async -> [UInt8] {
        (try? await blockingPool.runIfActive { self.readBytesSync(until: done) }) ?? []
    }
}

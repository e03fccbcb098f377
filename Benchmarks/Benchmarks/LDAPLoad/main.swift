// Load generator for Benchmarks/ldap-proxy.sh: C connections to an LDAP
// server, each keeping K operations outstanding, for T seconds; messages are
// built and framed with nscore's own BER codec (LDAPProxy). Prints one line:
//   <ops> <seconds> <ops/s> <p50 µs> <p99 µs> <errors>
// counted after a warm-up second. Usage:
//   LDAPLoad PORT search|bind CONNECTIONS DEPTH SECONDS [USERS] [BASE_DN]
// search: (uid=userN) under BASE_DN, subtree, all attributes.
// bind:   simple bind as uid=userN,ou=people,BASE_DN with passwordN.
// N rotates over 1…USERS (default 1000). An operation whose result code is
// not 0 counts as an error; a closed connection ends the run with status 1.
import Foundation
import LDAPProxy
import NIOCore
import NIOPosix

let args = CommandLine.arguments
guard args.count >= 6, let port = Int(args[1]), ["search", "bind"].contains(args[2]),
      let connections = Int(args[3]), let depth = Int(args[4]), let seconds = Double(args[5]) else {
    FileHandle.standardError.write(Data("usage: LDAPLoad PORT search|bind CONNECTIONS DEPTH SECONDS [USERS] [BASE_DN]\n".utf8))
    exit(64)
}
let workload = Workload(isBind: args[2] == "bind", depth: depth, users: args.count > 6 ? Int(args[6]) ?? 1000 : 1000,
                        baseDN: args.count > 7 ? args[7] : "dc=example,dc=org")
let warmUp = 1.0

/// What every connection does.
struct Workload: Sendable {
    let isBind: Bool
    let depth: Int
    let users: Int
    let baseDN: String
}

/// What one connection measured (read once it has stopped).
struct ConnectionResult: Sendable {
    var latenciesMicros: [UInt32] = []
    var errors = 0
    var lost = false
}

/// One client connection: keeps `depth` operations in flight until stopped.
final class LoadHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let workload: Workload
    private let measureFrom: NIODeadline
    private let stopAt: NIODeadline
    private let done: EventLoopPromise<ConnectionResult>
    private var buffer = ByteBuffer()
    private var nextID: Int32 = 1
    private var sentAt: [Int32: NIODeadline] = [:]
    private var userSeed: Int
    private var result = ConnectionResult()

    init(workload: Workload, seed: Int, measureFrom: NIODeadline, stopAt: NIODeadline, done: EventLoopPromise<ConnectionResult>) {
        self.workload = workload
        self.userSeed = seed
        self.measureFrom = measureFrom
        self.stopAt = stopAt
        self.done = done
        result.latenciesMicros.reserveCapacity(1 << 16)
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<workload.depth { send(context: context) }
        context.flush()
    }

    private func send(context: ChannelHandlerContext) {
        let id = nextID
        nextID = nextID == Int32.max ? 1 : nextID + 1
        userSeed = (userSeed &* 1103515245 &+ 12345) & 0x7fff_ffff
        let n = userSeed % workload.users + 1
        let message = workload.isBind
            ? LDAPMessages.simpleBind(id: id, dn: "uid=user\(n),ou=people,\(workload.baseDN)", password: "password\(n)")
            : LDAPMessages.search(id: id, base: workload.baseDN, attribute: "uid", value: "user\(n)")
        sentAt[id] = .now()
        context.write(wrapOutboundOut(message), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        var sent = false
        do {
            while let frame = try LDAPMessageFrame.parse(from: &buffer, limit: 1 << 24) {
                guard frame.operation.isFinalResponse, let start = sentAt.removeValue(forKey: frame.messageID) else { continue }
                let now = NIODeadline.now()
                if start >= measureFrom && now <= stopAt {
                    result.latenciesMicros.append(UInt32(clamping: (now - start).nanoseconds / 1000))
                    if frame.resultCode != 0 { result.errors += 1 }
                }
                if now < stopAt {
                    send(context: context)
                    sent = true
                } else if sentAt.isEmpty {
                    context.close(promise: nil)
                }
            }
        } catch {
            FileHandle.standardError.write(Data("LDAPLoad: bad message from the server: \(error)\n".utf8))
            context.close(promise: nil)
        }
        if sent { context.flush() }
        buffer.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !sentAt.isEmpty && NIODeadline.now() < stopAt { result.lost = true }
        done.succeed(result)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        FileHandle.standardError.write(Data("LDAPLoad: \(error)\n".utf8))
        context.close(promise: nil)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let start = NIODeadline.now()
let measureFrom = start + .milliseconds(Int64(warmUp * 1000))
let stopAt = measureFrom + .milliseconds(Int64(seconds * 1000))
var futures: [EventLoopFuture<ConnectionResult>] = []
for i in 0..<connections {
    let loop = group.next()
    let done = loop.makePromise(of: ConnectionResult.self)
    futures.append(done.futureResult)
    let handler = LoadHandler(workload: workload, seed: i &* 7919 &+ 1, measureFrom: measureFrom, stopAt: stopAt, done: done)
    do {
        _ = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) } }
            .connect(host: "127.0.0.1", port: port).get()
    } catch {
        FileHandle.standardError.write(Data("LDAPLoad: cannot connect to 127.0.0.1:\(port): \(error)\n".utf8))
        exit(1)
    }
}
var all: [UInt32] = []
var errors = 0
var lost = 0
for f in futures {
    let r = try await f.get()
    all.append(contentsOf: r.latenciesMicros)
    errors += r.errors
    if r.lost { lost += 1 }
}
try await group.shutdownGracefully()
all.sort()
func percentile(_ p: Double, of sorted: [UInt32]) -> UInt32 {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
let opsPerSecond = Double(all.count) / seconds
print(all.count, seconds, Int(opsPerSecond.rounded()), percentile(0.50, of: all), percentile(0.99, of: all), errors)
if lost > 0 {
    FileHandle.standardError.write(Data("LDAPLoad: \(lost) connection(s) closed by the server during the run\n".utf8))
    exit(1)
}

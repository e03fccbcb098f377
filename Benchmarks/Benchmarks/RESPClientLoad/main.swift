// Load generator for Benchmarks/resp-client.sh: runs one workload with
// nscore's RESP client against a redis-server and prints one line:
//   <ops> <seconds> <cpu-seconds>
// Usage: RESPClientLoad PORT MODE N [DEPTH|CONNECTIONS]
//   MODE sequential: N GETs, one at a time, on one connection
//   MODE pipeline:   N GET/SET alternating, DEPTH in flight per batch, one connection
//   MODE concurrent: N GETs spread over CONNECTIONS connections, one at a time each
import Foundation
import NIOCore
import Net
import NIOPosix
import RESP

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

let args = CommandLine.arguments
guard args.count >= 4, let port = Int(args[1]), let n = Int(args[3]) else {
    FileHandle.standardError.write("usage: RESPClientLoad PORT sequential|pipeline|concurrent N [DEPTH|CONNECTIONS]\n".data(using: .utf8)!)
    exit(64)
}
let mode = args[2]
let extra = args.count > 4 ? Int(args[4]) ?? 1 : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: mode == "concurrent" ? System.coreCount : 1)

func connect() async throws -> RedisConnection {
    try await RedisConnection.connect(host: "127.0.0.1", port: port, group: group)
}

let setup = try await connect()
_ = try await setup.command(["SET", "key:000000000000", String(repeating: "x", count: 3)])
await setup.close()

/// The workload, outside the main actor: top-level code is main-actor
/// isolated, and every resumption would hop to the main thread.
nonisolated func run(mode: String, n: Int, extra: Int) async throws {
    switch mode {
    case "sequential":
        // The loop runs on the connection's event loop (no thread hop per reply).
        let c = try await connect()
        try await withTaskExecutorPreference(EventLoopTaskExecutor(c.channel.eventLoop)) {
            let get = ["GET", "key:000000000000"]
            for _ in 0..<n { _ = try await c.command(get) }
        }
        await c.close()
    case "sequential-pool":
        // Without an executor preference: the caller runs on Swift's cooperative pool.
        let c = try await connect()
        let get = ["GET", "key:000000000000"]
        for _ in 0..<n { _ = try await c.command(get) }
        await c.close()
    case "pipeline":
        let c = try await connect()
        let batch = (0..<extra).map { $0 % 2 == 0 ? ["GET", "key:000000000000"] : ["SET", "key:000000000000", "xxx"] }
        try await withTaskExecutorPreference(EventLoopTaskExecutor(c.channel.eventLoop)) {
            for _ in 0..<(n / extra) { _ = try await c.pipeline(batch) }
        }
        await c.close()
    case "concurrent":
        let connections = try await withThrowingTaskGroup(of: RedisConnection.self) { tasks in
            for _ in 0..<extra { tasks.addTask { try await connect() } }
            var all: [RedisConnection] = []
            for try await c in tasks { all.append(c) }
            return all
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for c in connections {
                tasks.addTask(executorPreference: EventLoopTaskExecutor(c.channel.eventLoop)) {
                    let get = ["GET", "key:000000000000"]
                    for _ in 0..<(n / extra) { _ = try await c.command(get) }
                }
            }
            try await tasks.waitForAll()
        }
        for c in connections { await c.close() }
    default:
        FileHandle.standardError.write("unknown mode \(mode)\n".data(using: .utf8)!)
        exit(64)
    }
}

let cpu0 = cpuSeconds()
let start = ContinuousClock.now
try await run(mode: mode, n: n, extra: extra)
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(n, String(format: "%.4f", seconds), String(format: "%.4f", cpuSeconds() - cpu0))
try await group.shutdownGracefully()

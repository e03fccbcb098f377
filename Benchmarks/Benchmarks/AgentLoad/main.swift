// Load generator for Benchmarks/agent.sh: drives a running `nscore agent`
// through Redis and prints one line of figures.
// Usage: AgentLoad PORT AGENT_ID burst|sequential N ACTION
//        AgentLoad spawn N
//   burst:      N tasks LPUSHed in one write; "<n> <wall s> <p50 ms> <p99 ms>" of LPUSH → final status
//   sequential: one task at a time;          "<n> <wall s> <p50 ms> <p99 ms>"
//   spawn:      `sh -c 'echo ok'` N times, one at a time, posix_spawn + pipe + waitpid: the step alone
// The final status is published in the result's MULTI/EXEC, together with exit_code.
import Foundation
import Net
import NIOCore
import NIOPosix
import RESP
import Synchronization

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func report(_ n: Int, _ wall: Double, _ latencies: [Double]) {
    print(String(format: "%d %.3f %.3f %.3f", n, wall, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000))
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `sh -c 'echo ok'` once: spawn, read its output to EOF, reap.
func spawnOnce() -> Double {
    let start = now()
    var fds: [Int32] = [0, 0]
    pipe(&fds)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    let words: [String] = ["/bin/sh", "-c", "echo ok"]
    let argv = words.map { strdup($0) } + [nil]
    var pid: pid_t = 0
    posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
    close(fds[1])
    var buffer = [UInt8](repeating: 0, count: 64)
    while read(fds[0], &buffer, 64) > 0 {}
    close(fds[0])
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    posix_spawn_file_actions_destroy(&actions)
    for p in argv { free(p) }
    return now() - start
}

let args = CommandLine.arguments
if args.count == 3, args[1] == "spawn", let n = Int(args[2]) {
    let start = now()
    let latencies = (0..<n).map { _ in spawnOnce() }
    report(n, now() - start, latencies)
    exit(0)
}
guard args.count == 6, let port = Int(args[1]), let n = Int(args[4]) else {
    FileHandle.standardError.write(Data("usage: AgentLoad PORT AGENT_ID burst|sequential N ACTION | AgentLoad spawn N\n".utf8))
    exit(64)
}
let agentID = args[2], mode = args[3], action = args[5]
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let endpoint = RedisEndpoint(Endpoint(host: "127.0.0.1", port: port))
let client = RedisClient(endpoint: endpoint, group: group, poolSize: 1)
let events = try await client.subscribe(patterns: ["progress/\(agentID)/task/*"])
let prefix = "progress/\(agentID)/task/"

func task(_ id: String) -> String { #"{"id":"\#(id)","action":"\#(action)","data":null}"# }

nonisolated func run() async throws {
    var done: [String: Double] = [:]
    var pushed: [String: Double] = [:]
    var iterator = events.makeAsyncIterator()
    func waitFinal() async -> String? {
        while let event = await iterator.next() {
            guard case .message(let channel, let payload, _) = event else { continue }
            let text = String(buffer: payload)
            if text.contains("\"completed\"") || text.contains("\"aborted\"") || text.contains("\"validation-failed\"") {
                return String(channel.dropFirst(prefix.count))
            }
        }
        return nil
    }
    let start = now()
    if mode == "burst" {
        let ids = (0..<n).map { "b\($0)" }
        let t0 = now()
        _ = try await client.pipeline(ids.map { ["lpush", "\(agentID)/tasks", task($0)] })
        for id in ids { pushed[id] = t0 }
        while done.count < n, let id = await waitFinal() { done[id] = now() }
    } else {
        for i in 0..<n {
            let id = "s\(i)"
            pushed[id] = now()
            _ = try await client.send(["lpush", "\(agentID)/tasks", task(id)])
            while let finished = await waitFinal() {
                done[finished] = now()
                if finished == id { break }
            }
        }
    }
    let latencies = done.compactMap { id, t in pushed[id].map { t - $0 } }
    report(n, now() - start, latencies)
}
try await run()
await events.close()
await client.close()

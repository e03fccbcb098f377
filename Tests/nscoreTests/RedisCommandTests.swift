import Foundation
import NetTestSupport
import Testing

/// Runs `nscore redis ARGS` with `environment`; returns status and output (stdout+stderr).
private func nscoreRedis(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
    let dir = try makeTempDirectory(prefix: "nscore-redis-cli")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let process = try ExternalProcess(nscoreBinary, ["redis"] + arguments, environment: environment, logPath: dir + "/out")
    let status = await process.waitForExit()
    return (status, process.log)
}

@Suite("nscore redis", .timeLimit(.minutes(3)))
struct RedisCommandTests {
    @Test("prints like redis-cli (terminal and raw formats) for every reply shape")
    func likeRedisCLI() async throws {
        try await withRedisServer { redis in
            let env = ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)", "PATH": "/usr/bin:/bin"]
            let cli = ["redis-cli", "-3", "-p", "\(redis.port)"]
            for setup in [["RPUSH", "cluster/l", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"],
                          ["HSET", "cluster/h", "f1", "v1", "f2", "v2"], ["SET", "cluster/q", "a\"b\\c\n\u{1}é"],
                          ["ZADD", "cluster/z", "1.5", "m"], ["SADD", "cluster/s", "x"]] {
                _ = try await runCommandOffPool("/usr/bin/redis-cli", Array(cli.dropFirst()) + setup)
            }
            let reads = [["GET", "cluster/q"], ["GET", "cluster/nokey"], ["LRANGE", "cluster/l", "0", "-1"], ["HGETALL", "cluster/h"],
                         ["SMEMBERS", "cluster/s"], ["ZSCORE", "cluster/z", "m"], ["LRANGE", "cluster/nokey", "0", "-1"],
                         ["HGETALL", "cluster/nokey"], ["EXISTS", "cluster/l"], ["PING"], ["ECHO", ""],
                         ["ZRANGE", "cluster/z", "0", "-1", "WITHSCORES"], ["LPOS", "cluster/l", "zz"]]
            for command in reads {
                for mode in ["--no-raw", "--raw"] {
                    let expected = try await runCommandOffPool("/usr/bin/redis-cli", Array(cli.dropFirst()) + [mode] + command).output
                    let ours = try await nscoreRedis([mode] + command, environment: env)
                    #expect(ours.status == 0, "\(command): \(ours.output)")
                    #expect(ours.output == expected, "\(mode) \(command)")
                }
            }
        }
    }

    @Test("an error reply prints like redis-cli and exits 1; a write without credentials says what is missing")
    func errorsAndRouting() async throws {
        try await withRedisServer { redis in
            let env = ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)"]
            _ = try await runCommandOffPool("/usr/bin/redis-cli", ["-p", "\(redis.port)", "HSET", "cluster/h", "f", "v"])
            let wrongType = try await nscoreRedis(["--no-raw", "GET", "cluster/h"], environment: env)
            #expect(wrongType.status == 1)
            #expect(wrongType.output == "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n", "\(wrongType.output)")
            let write = try await nscoreRedis(["SET", "module/x/k", "v"], environment: env)
            #expect(write.status == 1)
            #expect(write.output.contains("REDIS_PASSWORD"), "\(write.output)")

            // With credentials from an env file, the write goes to the leader.
            _ = try await runCommandOffPool("/usr/bin/redis-cli", ["-p", "\(redis.port)", "ACL", "SETUSER", "module/x", "on", ">pw",
                                                     "~module/x/*", "+@all"])
            let dir = try makeTempDirectory(prefix: "nscore-envfile")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try "# agent.env\nREDIS_USER=module/x\nREDIS_PASSWORD='pw'\n".write(toFile: dir + "/agent.env", atomically: true, encoding: .utf8)
            let ok = try await nscoreRedis(["--env-file", dir + "/agent.env", "SET", "module/x/k", "v"], environment: env)
            #expect(ok.status == 0, "\(ok.output)")
            #expect(ok.output == "OK\n")
            let whoami = try await nscoreRedis(["--env-file", dir + "/agent.env", "--privileged", "ACL", "WHOAMI"], environment: env)
            #expect(whoami.output == "module/x\n", "\(whoami.output)")
            let anonymous = try await nscoreRedis(["--env-file", dir + "/agent.env", "ACL", "WHOAMI"], environment: env)
            #expect(anonymous.output == "module/x\n", "ACL WHOAMI is @slow only, so it goes to the leader: \(anonymous.output)")
            let ping = try await nscoreRedis(["CLIENT", "GETNAME"], environment: env)
            #expect(ping.output == "nscore-redis\n", "\(ping.output)")

            let bad = try await nscoreRedis([], environment: env)
            #expect(bad.status == 64)
            #expect(bad.output.contains("give a command"))
            let noServer = try await nscoreRedis(["--timeout", "0.5", "GET", "cluster/x"], environment: ["REDIS_ADDRESS": "127.0.0.1:1"])
            #expect(noServer.status == 1)
            #expect(noServer.output.contains("unreachable"), "\(noServer.output)")
        }
    }
}

import Foundation
import NetTestSupport
import Testing

/// `sh -c SCRIPT` with nscore as $NSCORE; returns status and combined output.
private func shell(_ script: String, environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    let dir = try makeTempDirectory(prefix: "nscore-secret-cli")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let env = ["NSCORE": nscoreBinary, "PATH": "/usr/bin:/bin"].merging(environment) { $1 }
    let process = try ExternalProcess("/bin/sh", ["-c", script], environment: env, logPath: dir + "/out")
    let status = await process.waitForExit()
    return (status, process.log)
}

@Suite("nscore secret", .timeLimit(.minutes(2)))
struct SecretCommandTests {
    @Test("keygen writes a 0600 key and prints the public key; seal --public-key | open gives the value back")
    func keygenSealOpen() async throws {
        let dir = try makeTempDirectory(prefix: "nscore-secret")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keygen = try await shell("$NSCORE secret keygen --secret-key-file \(dir)/box.key")
        #expect(keygen.status == 0, "\(keygen.output)")
        let publicKey = keygen.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(publicKey.count == 44)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/box.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try await shell("$NSCORE secret keygen --secret-key-file \(dir)/box.key")
        #expect(again.status != 0)
        #expect(again.output.contains("exists"), "\(again.output)")

        let roundTrip = try await shell(
            "printf %s 'pa ss\"w0rd' | $NSCORE secret seal --public-key \(publicKey) | tee \(dir)/sealed | $NSCORE secret open --secret-key-file \(dir)/box.key")
        #expect(roundTrip.status == 0, "\(roundTrip.output)")
        #expect(roundTrip.output == "pa ss\"w0rd")
        let sealed = try String(contentsOfFile: dir + "/sealed", encoding: .utf8)
        #expect(sealed.hasPrefix("sealed:v1:"))
        #expect(!sealed.contains("w0rd"))

        // $AGENT_STATE_DIR/box.key is the default key; another key cannot open it.
        let byDefault = try await shell("$NSCORE secret open < \(dir)/sealed", environment: ["AGENT_STATE_DIR": dir])
        #expect(byDefault.output == "pa ss\"w0rd", "\(byDefault.output)")
        _ = try await shell("$NSCORE secret keygen --secret-key-file \(dir)/other.key")
        let wrong = try await shell("$NSCORE secret open --secret-key-file \(dir)/other.key < \(dir)/sealed")
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("does not open with this secret key"), "\(wrong.output)")
        let notSealed = try await shell("echo plain | $NSCORE secret open --secret-key-file \(dir)/box.key")
        #expect(notSealed.status == 1)
        #expect(notSealed.output.contains("not a sealed value"), "\(notSealed.output)")
    }

    @Test("seal --to module/ID reads module/ID/public_key from Redis as the default user; a missing key is a clear error")
    func sealToModule() async throws {
        try await withRedisServer { redis in
            let dir = try makeTempDirectory(prefix: "nscore-secret")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let env = ["REDIS_ADDRESS": "127.0.0.1:\(redis.port)"]
            let keygen = try await shell("$NSCORE secret keygen --secret-key-file \(dir)/box.key")
            let publicKey = keygen.output.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await runCommandOffPool("/usr/bin/redis-cli", ["-p", "\(redis.port)", "SET", "module/mail1/public_key", publicKey])
            let sealed = try await shell(
                "printf %s token | $NSCORE secret seal --to module/mail1 | $NSCORE secret open --secret-key-file \(dir)/box.key",
                environment: env)
            #expect(sealed.status == 0, "\(sealed.output)")
            #expect(sealed.output == "token")
            let missing = try await shell("printf %s token | $NSCORE secret seal --to mail2", environment: env)
            #expect(missing.status == 1)
            #expect(missing.output.contains("module/mail2/public_key is not set"), "\(missing.output)")
            let usage = try await shell("$NSCORE secret seal", environment: env)
            #expect(usage.status == 64)
            #expect(usage.output.contains("--to module/ID or --public-key"), "\(usage.output)")
        }
    }
}

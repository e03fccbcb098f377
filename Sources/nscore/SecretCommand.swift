import ArgumentParser
import FoundationEssentials
import Net
import NIOCore
import NIOPosix
import RESP
import Secrets

/// `nscore secret keygen|seal|open`: libsodium sealed boxes for module secrets.
struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Seal a value to a module's public key, or open one with the module's secret key.",
        discussion: """
            Sealed values are written sealed:v1:<base64> (a libsodium sealed box, \
            byte-compatible with PyNaCl's SealedBox). Each module has a key pair: the public \
            key in Redis (module/ID/public_key, base64), the secret key in a 0600 file of its \
            state directory. Values are read from standard input (never from the command line, \
            where other users could see them).

            Examples:
              nscore secret keygen --secret-key-file state/box.key       # prints the public key
              printf %s "$PASSWORD" | nscore secret seal --to module/mail1
              nscore redis GET module/mail1/some_secret | nscore secret open --secret-key-file state/box.key
            """,
        subcommands: [SecretKeygenCommand.self, SecretSealCommand.self, SecretOpenCommand.self])
}

struct SecretKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a key pair: the secret key into a new 0600 file, the public key (base64) on standard output.")

    @Option(help: ArgumentHelp("Where the secret key goes (must not exist yet).", valueName: "file"))
    var secretKeyFile: String

    func run() throws {
        if FileManager.default.fileExists(atPath: secretKeyFile) {
            throw ValidationError("\(secretKeyFile) exists: keygen never replaces a key (its sealed values would be lost)")
        }
        do {
            let keys = try KeyPair.generate()
            try keys.save(secretKeyFile: secretKeyFile)
            print(keys.publicKeyBase64)
        } catch {
            StandardError.write("nscore secret keygen: \(error)\n")
            throw ExitCode.failure
        }
    }
}

struct SecretSealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal standard input to a public key; print sealed:v1:<base64>.",
        discussion: """
            --to module/ID reads module/ID/public_key from Redis (REDIS_ADDRESS or \
            REDIS_REPLICA_ADDRESS, as the default user: public keys are public); \
            --public-key takes it directly. A trailing newline of the input is kept: use printf %s.
            """)

    @Option(help: ArgumentHelp("The module whose public key seals (module/ID or ID).", valueName: "module"))
    var to: String?

    @Option(help: ArgumentHelp("The public key itself (base64).", valueName: "base64"))
    var publicKey: String?

    @Option(help: ArgumentHelp("Read REDIS_* variables from a KEY=VALUE file.", valueName: "file"))
    var envFile: String?

    func validate() throws {
        if (to == nil) == (publicKey == nil) { throw ValidationError("give one of --to module/ID or --public-key") }
    }

    func run() async throws {
        do {
            let key = try KeyPair.publicKey(base64: try await publicKeyText())
            let plaintext = String(decoding: try readStandardInput(limit: 1 << 20), as: UTF8.self)
            print(try SealedValue.seal(plaintext, to: key))
        } catch let error as ValidationError {
            throw error
        } catch {
            StandardError.write("nscore secret seal: \(error)\n")
            throw ExitCode.failure
        }
    }

    private func publicKeyText() async throws -> String {
        if let publicKey { return publicKey }
        let module = to!.hasPrefix("module/") ? String(to!.dropFirst("module/".count)) : to!
        guard !module.isEmpty, !module.contains("/") else { throw ValidationError("--to: expected module/ID, not \(to!)") }
        var environment = ProcessInfo.processInfo.environment
        if let envFile {
            do { environment.merge(try EnvironmentFile.load(path: envFile)) { $1 } } catch { throw ValidationError("\(error)") }
        }
        let settings = try RedisSettings(environment: environment, clientName: "nscore-secret",
                                         base: RedisConnectionConfiguration(commandTimeout: .seconds(5), connectTimeout: .seconds(3)))
        let client = RedisRoutingClient(settings: settings, group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
        defer { Task { await client.close() } }
        let reply = try await client.send(["GET", "module/\(module)/public_key"], timeout: nil).value
        await client.close()
        guard reply != .null, let text = reply.string else {
            throw SecretCommandError("module/\(module)/public_key is not set in Redis: is module \(module) installed?")
        }
        return text
    }
}

struct SecretOpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open a sealed:v1: value from standard input with a secret key; print the plaintext.")

    @Option(help: ArgumentHelp("The module's secret key file (default: $AGENT_STATE_DIR/box.key, else ./box.key).",
                               valueName: "file"))
    var secretKeyFile: String?

    func run() throws {
        let path = secretKeyFile ?? ((environmentValue("AGENT_STATE_DIR").map { $0 + "/" } ?? "") + "box.key")
        do {
            let keys = try KeyPair.load(secretKeyFile: path)
            let sealed = String(decoding: try readStandardInput(limit: 4 << 20), as: UTF8.self)
            let plaintext = try SealedValue.open(sealed, with: keys)
            StandardOutput.write(String(decoding: plaintext, as: UTF8.self))
        } catch {
            StandardError.write("nscore secret open: \(error)\n")
            throw ExitCode.failure
        }
    }
}

struct SecretCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// All of standard input, up to `limit` bytes.
func readStandardInput(limit: Int) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; throw SecretCommandError("cannot read standard input: errno \(errno)") }
        if n == 0 { return bytes }
        bytes += chunk.prefix(n)
        if bytes.count > limit { throw SecretCommandError("standard input is over \(limit) bytes") }
    }
}

import Foundation
import NetTestSupport
import Secrets
import Testing

@Suite("Secrets: sealed boxes")
struct SealedBoxTests {
    @Test("base64 matches RFC 4648 test vectors and refuses what is not base64")
    func base64() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.decode(" Zm9v\n") == Array("foo".utf8))
        for bad in ["Zm9", "Zm9v!", "Zm=v", "Zm9vYg=", "@@@@"] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test("seal then open gives the message back; another key, an altered byte or a truncated box do not open")
    func roundTrip() throws {
        let keys = try KeyPair.generate()
        let other = try KeyPair.generate()
        for message in ["", "p", "s3cr3t password with spaces", String(repeating: "é", count: 10_000)] {
            let box = try SealedBox.seal(Array(message.utf8), to: keys.publicKey)
            #expect(box.count == message.utf8.count + SealedBox.overhead)
            #expect(try SealedBox.open(box, with: keys) == Array(message.utf8))
            #expect(throws: SecretsError.cannotOpen) { try SealedBox.open(box, with: other) }
            var altered = box
            altered[altered.count - 1] ^= 1
            #expect(throws: SecretsError.cannotOpen) { try SealedBox.open(altered, with: keys) }
            #expect(throws: SecretsError.cannotOpen) { try SealedBox.open(Array(box.prefix(10)), with: keys) }
        }
        // Two seals of one message differ (a fresh ephemeral key each time).
        #expect(try SealedBox.seal([1, 2, 3], to: keys.publicKey) != SealedBox.seal([1, 2, 3], to: keys.publicKey))
    }

    @Test("sealed:v1: values: format, wrong prefix, unknown version, bad base64")
    func sealedValue() throws {
        let keys = try KeyPair.generate()
        let value = try SealedValue.seal("hunter2", to: keys.publicKey)
        #expect(value.hasPrefix("sealed:v1:"))
        #expect(SealedValue.isSealed(value))
        #expect(!value.contains("hunter2"))
        #expect(try SealedValue.open(value + "\n", with: keys) == Array("hunter2".utf8))
        #expect(throws: SecretsError.notSealed("no sealed:v1: prefix")) { try SealedValue.open("hunter2", with: keys) }
        #expect(throws: SecretsError.notSealed("unknown version sealed:v2:AA…")) {
            try SealedValue.open("sealed:v2:AAAA", with: keys)
        }
        #expect(throws: SecretsError.notSealed("the payload is not base64")) { try SealedValue.open("sealed:v1:!!", with: keys) }
    }

    @Test("a secret key file is written 0600, read back with the same public key; bad files say what is wrong")
    func keyFiles() throws {
        let dir = try makeTempDirectory(prefix: "nscore-secrets")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keys = try KeyPair.generate()
        try keys.save(secretKeyFile: dir + "/box.key")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/box.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: dir + "/box.key.tmp"))
        let loaded = try KeyPair.load(secretKeyFile: dir + "/box.key")
        #expect(loaded == keys)
        #expect(try KeyPair.publicKey(base64: keys.publicKeyBase64) == keys.publicKey)
        #expect(throws: SecretsError.self) { try KeyPair.load(secretKeyFile: dir + "/missing") }
        try "not base64!".write(toFile: dir + "/bad.key", atomically: true, encoding: .utf8)
        #expect(throws: SecretsError.keyFile(path: dir + "/bad.key", "not base64")) { try KeyPair.load(secretKeyFile: dir + "/bad.key") }
        try "Zm9v".write(toFile: dir + "/short.key", atomically: true, encoding: .utf8)
        #expect(throws: SecretsError.invalidKey("a secret key is 32 bytes, this one 3")) { try KeyPair.load(secretKeyFile: dir + "/short.key") }
        #expect(throws: SecretsError.invalidKey("a public key is 32 bytes, this one 3")) { try KeyPair.publicKey(base64: "Zm9v") }
    }

    /// Runs python3 (Debian's, with python3-nacl) on `script` with `arguments`.
    private func python(_ script: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runCommandOffPool("/usr/bin/python3", ["-c", script] + arguments)
    }

    @Test("byte-compatible with PyNaCl's SealedBox: Swift seals, PyNaCl opens, and the reverse")
    func pyNaCl() async throws {
        let keys = try KeyPair.generate()
        let secret = Base64.encode(keys.secretKey)
        // Swift → PyNaCl.
        let box = Base64.encode(try SealedBox.seal(Array("from swift ✓".utf8), to: keys.publicKey))
        let opened = try await python("""
            import sys, base64, nacl.public
            sk = nacl.public.PrivateKey(base64.b64decode(sys.argv[1]))
            sys.stdout.write(nacl.public.SealedBox(sk).decrypt(base64.b64decode(sys.argv[2])).decode())
            """, [secret, box])
        #expect(opened.status == 0, "\(opened.output)")
        #expect(opened.output == "from swift ✓")
        // PyNaCl → Swift, and PyNaCl derives the same public key.
        let sealed = try await python("""
            import sys, base64, nacl.public
            pk = nacl.public.PrivateKey(base64.b64decode(sys.argv[1])).public_key
            print(base64.b64encode(bytes(pk)).decode())
            print(base64.b64encode(nacl.public.SealedBox(pk).encrypt("from pynacl ✓".encode())).decode())
            """, [secret])
        #expect(sealed.status == 0, "\(sealed.output)")
        let lines = sealed.output.split(separator: "\n").map(String.init)
        try #require(lines.count == 2)
        #expect(lines[0] == keys.publicKeyBase64)
        #expect(try SealedValue.open("sealed:v1:" + lines[1], with: keys) == Array("from pynacl ✓".utf8))
    }
}

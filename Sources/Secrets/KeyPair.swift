import CSodium
#if canImport(Glibc)
import Glibc
#endif

/// A libsodium box key pair (X25519): the public key seals, the secret key opens.
/// Keys travel as base64 of their 32 bytes (the module's public key in
/// `module/ID/public_key`, the secret key in a 0600 file of the module's state).
public struct KeyPair: Sendable, Equatable {
    /// 32 bytes.
    public let publicKey: [UInt8]
    /// 32 bytes; never logged.
    public let secretKey: [UInt8]

    public static var keyLength: Int { Int(crypto_box_PUBLICKEYBYTES) }

    /// A new random key pair.
    public static func generate() throws(SecretsError) -> KeyPair {
        try Sodium.require()
        var pk = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_box_SECRETKEYBYTES))
        guard crypto_box_keypair(&pk, &sk) == 0 else { throw .sodiumUnavailable }
        return KeyPair(publicKey: pk, secretKey: sk)
    }

    /// The pair of a secret key (its public key is derived from it).
    public init(secretKey: [UInt8]) throws(SecretsError) {
        try Sodium.require()
        guard secretKey.count == Int(crypto_box_SECRETKEYBYTES) else {
            throw .invalidKey("a secret key is \(crypto_box_SECRETKEYBYTES) bytes, this one \(secretKey.count)")
        }
        var pk = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        guard crypto_scalarmult_base(&pk, secretKey) == 0 else { throw .invalidKey("cannot derive the public key") }
        self.init(publicKey: pk, secretKey: secretKey)
    }

    private init(publicKey: [UInt8], secretKey: [UInt8]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The public key as base64 (what `module/ID/public_key` holds).
    public var publicKeyBase64: String { Base64.encode(publicKey) }

    /// A public key from its base64 text.
    public static func publicKey(base64 text: some StringProtocol) throws(SecretsError) -> [UInt8] {
        guard let key = Base64.decode(text) else { throw .invalidKey("the public key is not base64") }
        guard key.count == Int(crypto_box_PUBLICKEYBYTES) else {
            throw .invalidKey("a public key is \(crypto_box_PUBLICKEYBYTES) bytes, this one \(key.count)")
        }
        return key
    }

    /// Reads a secret key file (base64 of the 32 bytes, one line).
    public static func load(secretKeyFile path: String) throws(SecretsError) -> KeyPair {
        let text: String
        do { text = try readSmallFile(path) } catch { throw .keyFile(path: path, error.description) }
        guard let key = Base64.decode(text) else { throw .keyFile(path: path, "not base64") }
        return try KeyPair(secretKey: key)
    }

    /// Writes the secret key to `path`, mode 0600, replacing it atomically
    /// (written to a temporary file beside it, then renamed).
    public func save(secretKeyFile path: String) throws(SecretsError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .keyFile(path: path, String(cString: strerror(errno))) }
        let line = Array((Base64.encode(secretKey) + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == line.count, synced, rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw .keyFile(path: path, why)
        }
    }
}

/// A whole small file as text (keys, not data).
func readSmallFile(_ path: String) throws(SecretsFileError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SecretsFileError(String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw SecretsFileError(String(cString: strerror(errno))) }
        if n == 0 { break }
        bytes += chunk.prefix(n)
        if bytes.count > 1 << 16 { throw SecretsFileError("larger than 64 KiB: not a key file") }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Why a key file could not be read (its text goes into ``SecretsError/keyFile(path:_:)``).
struct SecretsFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

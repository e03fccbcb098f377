import CSodium

/// libsodium sealed boxes (`crypto_box_seal`): anyone with the public key
/// seals, only the secret key opens. Byte-compatible with PyNaCl's
/// `SealedBox`. In Redis and task data a sealed value is written
/// `sealed:v1:<base64>` (``SealedValue``).
public enum SealedBox {
    /// Bytes a sealed box adds to its message (ephemeral public key + MAC).
    public static var overhead: Int { crypto_box_sealbytes() }

    /// `message` sealed to `publicKey` (32 bytes).
    public static func seal(_ message: [UInt8], to publicKey: [UInt8]) throws(SecretsError) -> [UInt8] {
        try Sodium.require()
        guard publicKey.count == Int(crypto_box_PUBLICKEYBYTES) else {
            throw .invalidKey("a public key is \(crypto_box_PUBLICKEYBYTES) bytes, this one \(publicKey.count)")
        }
        var box = [UInt8](repeating: 0, count: message.count + overhead)
        guard crypto_box_seal(&box, message, UInt64(message.count), publicKey) == 0 else {
            throw .invalidKey("crypto_box_seal refused the public key")
        }
        return box
    }

    /// The message inside `box`, opened with `keys`.
    /// - Throws: ``SecretsError/cannotOpen`` when it was sealed to another key or altered.
    public static func open(_ box: [UInt8], with keys: KeyPair) throws(SecretsError) -> [UInt8] {
        try Sodium.require()
        guard box.count >= overhead else { throw .cannotOpen }
        var message = [UInt8](repeating: 0, count: box.count - overhead)
        guard crypto_box_seal_open(&message, box, UInt64(box.count), keys.publicKey, keys.secretKey) == 0 else {
            throw .cannotOpen
        }
        return message
    }
}

/// The text form of a sealed value: `sealed:v1:<base64 of the sealed box>`.
public enum SealedValue {
    public static let prefix = "sealed:v1:"

    /// Whether `text` looks like a sealed value (by its prefix).
    public static func isSealed(_ text: some StringProtocol) -> Bool { text.hasPrefix(prefix) }

    /// `plaintext` sealed to `publicKey`, as text.
    public static func seal(_ plaintext: some StringProtocol, to publicKey: [UInt8]) throws(SecretsError) -> String {
        prefix + Base64.encode(try SealedBox.seal(Array(plaintext.utf8), to: publicKey))
    }

    /// The bytes inside a `sealed:v1:` value.
    public static func open(_ text: some StringProtocol, with keys: KeyPair) throws(SecretsError) -> [UInt8] {
        let trimmed = text.drop { $0 == " " || $0 == "\n" }
        guard trimmed.hasPrefix(prefix) else {
            throw .notSealed(trimmed.hasPrefix("sealed:") ? "unknown version \(trimmed.prefix(12))…" : "no sealed:v1: prefix")
        }
        guard let box = Base64.decode(trimmed.dropFirst(prefix.count)) else { throw .notSealed("the payload is not base64") }
        return try SealedBox.open(box, with: keys)
    }
}

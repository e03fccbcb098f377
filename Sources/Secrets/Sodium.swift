import CSodium

/// libsodium's one-time initialisation (thread-safe, idempotent).
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    static func require() throws(SecretsError) {
        guard ready else { throw .sodiumUnavailable }
    }
}

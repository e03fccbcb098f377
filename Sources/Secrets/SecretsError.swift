/// What went wrong with a key or a sealed value, and what to do about it.
public enum SecretsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libsodium could not be initialised (no entropy source?).
    case sodiumUnavailable
    /// A key is not base64 of the right number of bytes.
    case invalidKey(String)
    /// A value is not `sealed:v1:<base64>`.
    case notSealed(String)
    /// The box does not open with this key: sealed to another key, or altered.
    case cannotOpen
    /// A key file cannot be read or written.
    case keyFile(path: String, String)

    public var description: String {
        switch self {
        case .sodiumUnavailable: "libsodium failed to initialise (sodium_init); is /dev/urandom readable?"
        case .invalidKey(let why): "invalid key: \(why)"
        case .notSealed(let why): "not a sealed value: \(why) (expected sealed:v1:<base64>)"
        case .cannotOpen: "the sealed value does not open with this secret key (sealed to another key, or altered)"
        case .keyFile(let path, let why): "key file \(path): \(why)"
        }
    }
}

import NIOConcurrencyHelpers

/// The HTTP-01 answers being served: token → key authorization. The edge's
/// plain HTTP listener answers `/.well-known/acme-challenge/<token>` from it.
public final class ACMEChallenges: Sendable {
    private let answers = NIOLockedValueBox<[String: String]>([:])

    public init() {}

    /// The prefix of challenge request paths.
    public static let pathPrefix = "/.well-known/acme-challenge/"

    func set(token: String, answer: String) { answers.withLockedValue { $0[token] = answer } }
    func remove(token: String) { _ = answers.withLockedValue { $0.removeValue(forKey: token) } }

    /// The key authorization for a request path, nil when it is not a challenge being answered.
    public func answer(path: String) -> String? {
        guard path.hasPrefix(Self.pathPrefix) else { return nil }
        let token = path.dropFirst(Self.pathPrefix.count)
        return answers.withLockedValue { $0[String(token)] }
    }
}

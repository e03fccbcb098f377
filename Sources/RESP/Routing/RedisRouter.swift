public import NIOCore

/// Which endpoint a command goes to under the platform's auth-vs-read-only model.
public enum RedisRoute: Sendable, Equatable {
    /// The read-only endpoint (`default` user, no password; usually the local replica).
    case readOnly
    /// The privileged endpoint (the agent's ACL user at the leader).
    case privileged
}

/// The routing decision for one command line, with the reason (for logs and tests).
public struct RedisRoutingDecision: Sendable, Equatable {
    /// Why a command goes where it goes.
    public enum Reason: Sendable, Equatable {
        /// Not in the command table: the leader answers "unknown command".
        case unknownCommand
        /// SUBSCRIBE/PSUBSCRIBE: the replica receives every PUBLISH. (The platform's `default` user may not UNSUBSCRIBE: a subscriber closes its connection instead.)
        case subscription
        /// Writes, admin, blocking, transaction, scripting or PUBLISH: the leader, with credentials.
        case needsPrivilege
        /// Not a command the `default` user may run (`@read`/`@connection` without `@admin`).
        case notAllowedForDefault
        /// Its keys cannot all be named (`SORT … BY`): played safe.
        case unknowableKeys
        /// A key outside the public patterns (`task/…`, `private/…`).
        case privateKey
        /// A read whose keys (if any) are all public.
        case publicRead
    }

    public let route: RedisRoute
    public let reason: Reason

    /// Creates a decision.
    public init(route: RedisRoute, reason: Reason) {
        self.route = route
        self.reason = reason
    }
}

/// Decides, from the generated command table, whether a command can go to
/// the read-only endpoint or needs the privileged one. A pure function of
/// the command line and the public key patterns.
public struct RedisRouter: Sendable {
    /// Keys the `default` user may read.
    public var publicPatterns: [RedisKeyPattern]

    /// The platform's public patterns: `cluster/*`, `node/*`, `module/*`.
    public static let defaultPublicPatterns = ["cluster/*", "node/*", "module/*"]

    /// Creates a router with the given public key patterns.
    public init(publicPatterns: [String] = RedisRouter.defaultPublicPatterns) {
        self.publicPatterns = publicPatterns.map(RedisKeyPattern.init)
    }

    private static let privileged: RedisCommandInfo.Flags = [.write, .admin, .blocking]
    private static let privilegedCategories: RedisCommandInfo.Categories =
        [.write, .admin, .blocking, .transaction, .scripting]
    private static let allowedForDefault: RedisCommandInfo.Categories = [.read, .connection]

    /// The decision for a command line (name first).
    public func route<Argument: RedisArgument>(_ arguments: some RandomAccessCollection<Argument>) -> RedisRoutingDecision {
        decide(info: RedisCommandTable.info(for: arguments), arguments: arguments)
    }

    /// The decision when the command's table entry is already known (a
    /// proxy's per-name cache), for arguments taken off the wire. Concrete,
    /// so that callers in other modules run specialized code.
    public func route(info: RedisCommandInfo?, arguments: [ByteBuffer]) -> RedisRoutingDecision {
        decide(info: info, arguments: arguments)
    }

    private func decide<Arguments: RandomAccessCollection>(info: RedisCommandInfo?, arguments: Arguments) -> RedisRoutingDecision
    where Arguments.Element: RedisArgument {
        guard let info else {
            return .init(route: .privileged, reason: .unknownCommand)
        }
        switch info.name {
        case "subscribe", "psubscribe":
            return .init(route: .readOnly, reason: .subscription)
        case "publish", "spublish":
            return .init(route: .privileged, reason: .needsPrivilege)
        default:
            break
        }
        if !info.flags.isDisjoint(with: Self.privileged) || !info.categories.isDisjoint(with: Self.privilegedCategories) {
            return .init(route: .privileged, reason: .needsPrivilege)
        }
        if info.categories.isDisjoint(with: Self.allowedForDefault) {
            return .init(route: .privileged, reason: .notAllowedForDefault)
        }
        switch info.keys(in: arguments) {
        case .unknowable:
            return .init(route: .privileged, reason: .unknowableKeys)
        case .indices(let indices):
            for i in indices {
                let key = arguments[arguments.index(arguments.startIndex, offsetBy: i)]
                if !publicPatterns.contains(where: { $0.matches(key.bytes) }) {
                    return .init(route: .privileged, reason: .privateKey)
                }
            }
            return .init(route: .readOnly, reason: .publicRead)
        }
    }
}

public import Net

/// The two endpoints of the platform's model, as configured by the
/// `REDIS_*` environment variables (AGENT-PROTOCOL.md):
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `REDIS_ADDRESS` | `127.0.0.1:6379` | leader: writes, private reads |
/// | `REDIS_REPLICA_ADDRESS` | `REDIS_ADDRESS` | local replica: public reads, subscriptions |
/// | `REDIS_USER` | `AGENT_ID`, else `default` | ACL user for the leader |
/// | `REDIS_PASSWORD` | none | without it there are no privileged credentials |
public struct RedisSettings: Sendable {
    /// The `default` user at the replica.
    public var readOnly: RedisEndpoint
    /// The ACL user at the leader; nil without a password.
    public var privileged: RedisEndpoint?

    /// Creates settings from explicit endpoints.
    public init(readOnly: RedisEndpoint, privileged: RedisEndpoint?) {
        self.readOnly = readOnly
        self.privileged = privileged
    }

    /// Reads the `REDIS_*` variables from `environment`.
    /// - Throws: ``RedisSettingsError`` naming the variable with a bad address.
    public init(environment: [String: String], clientName: String? = nil,
                base: RedisConnectionConfiguration = .init()) throws(RedisSettingsError) {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func endpoint(_ name: String, _ text: String) throws(RedisSettingsError) -> Endpoint {
            do { return try Endpoint(parsing: text, defaultPort: 6379) } catch { throw .badAddress(variable: name, error) }
        }
        let leaderText = value("REDIS_ADDRESS") ?? "127.0.0.1:6379"
        let leader = try endpoint("REDIS_ADDRESS", leaderText)
        let replica = try value("REDIS_REPLICA_ADDRESS").map { t throws(RedisSettingsError) in try endpoint("REDIS_REPLICA_ADDRESS", t) } ?? leader
        var anonymous = base
        anonymous.username = nil
        anonymous.password = nil
        anonymous.clientName = clientName
        readOnly = RedisEndpoint(replica, configuration: anonymous)
        if let password = value("REDIS_PASSWORD") {
            var auth = base
            auth.username = value("REDIS_USER") ?? value("AGENT_ID") ?? "default"
            auth.password = password
            auth.clientName = clientName
            privileged = RedisEndpoint(leader, configuration: auth)
        } else {
            privileged = nil
        }
    }
}

/// A `REDIS_*` variable that cannot be used.
public enum RedisSettingsError: Error, Sendable, CustomStringConvertible {
    case badAddress(variable: String, EndpointError)

    public var description: String {
        switch self {
        case .badAddress(let variable, let error): "\(variable): \(error) (expected HOST:PORT)"
        }
    }
}

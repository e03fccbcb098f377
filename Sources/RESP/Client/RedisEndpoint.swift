public import Net
import NIOCore

/// Where a Redis server is and how to log in to it.
public struct RedisEndpoint: Sendable, CustomStringConvertible {
    /// Host and port.
    public var address: Endpoint
    /// Credentials, name, database, limits and timeouts.
    public var configuration: RedisConnectionConfiguration

    /// Creates an endpoint.
    public init(_ address: Endpoint, configuration: RedisConnectionConfiguration = .init()) {
        self.address = address
        self.configuration = configuration
    }

    /// Creates an endpoint from `HOST:PORT`, `[V6]:PORT` or `HOST` (port 6379).
    public init(parsing text: String, configuration: RedisConnectionConfiguration = .init()) throws(EndpointError) {
        self.init(try Endpoint(parsing: text, defaultPort: 6379), configuration: configuration)
    }

    /// `host:port` and the user, never the password.
    public var description: String {
        "\(address) as \(configuration.username ?? "default")"
    }

    /// One connection attempt.
    func connect(group: any EventLoopGroup, onPush: (@Sendable (RESPToken) -> Void)? = nil,
                 isPush: @escaping @Sendable (RESPToken) -> Bool = { $0.isPush }) async throws(RedisClientError) -> RedisConnection {
        try await RedisConnection.connect(host: address.host, port: address.port, configuration: configuration,
                                          group: group, onPush: onPush, isPush: isPush)
    }
}

import NetTestSupport
import NIOPosix
import RESP

/// The ACL users of REDIS-LAYOUT.md, loaded into a test redis-server so that
/// a command routed to the wrong side fails as it would in production.
enum PlatformACL {
    static let clusterPassword = "cluster-secret"

    static func password(module id: String) -> String { "pw-\(id)" }

    /// Loads `cluster` (everything), `module/<id>` for each id and the
    /// restricted `default` user; returns a connection as `cluster`.
    static func load(port: Int, modules: [String] = ["mail1"]) async throws -> RedisConnection {
        let boot = try await RedisConnection.connect(host: "127.0.0.1", port: port, group: .singletonMultiThreadedEventLoopGroup)
        _ = try await boot.command(["ACL", "SETUSER", "cluster", "on", ">" + clusterPassword, "~*", "&*", "+@all"])
        for id in modules {
            _ = try await boot.command(
                ["ACL", "SETUSER", "module/\(id)", "ON", ">" + password(module: id), "resetkeys",
                 "~module/\(id)/*", "~task/module/\(id)/*",
                 "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/agents/*", "resetchannels",
                 "&progress/module/\(id)/*", "&module/\(id)/event/*", "+@read", "+@write", "+@transaction",
                 "+@connection", "+publish", "-@admin"])
        }
        _ = try await boot.command(
            ["ACL", "SETUSER", "default", "ON", "nopass", "resetkeys", "~cluster/*", "~node/*", "~module/*",
             "resetchannels", "&*", "nocommands", "+@read", "+@connection", "+subscribe", "+psubscribe", "-@admin"])
        await boot.close()
        return try await RedisConnection.connect(
            host: "127.0.0.1", port: port,
            configuration: .init(username: "cluster", password: clusterPassword), group: .singletonMultiThreadedEventLoopGroup)
    }
}

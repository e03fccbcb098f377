public import Logging
public import NIOCore

/// What a proxy connection needs to know (shared by every connection of a listener).
public struct ProxySettings: Sendable {
    /// The routes; swapped whole on reload.
    public let routes: SharedRoutes
    /// True on the HTTPS listener (X-Forwarded-Proto, http2https).
    public var tls: Bool
    public var connectTimeout: TimeAmount = .seconds(5)
    /// No response head from the backend within this: 504.
    public var responseTimeout: TimeAmount = .seconds(60)
    /// A connection must send a complete request head within this of opening or of its last
    /// response, else it is closed (a client trickling bytes is not idle, so the idle timeout misses it).
    public var headTimeout: TimeAmount = .seconds(30)
    /// A connection that neither reads nor writes for this is closed (a stalled body either way,
    /// a tunnel, a TLS handshake that does not finish). On HTTP/1.1 connections ``ProxyHandler``
    /// watches it itself; on the TLS handshake, HTTP/2 connections and tunnels Net's IdleTimeoutHandler does.
    public var idleTimeout: TimeAmount = .seconds(120)
    /// Largest request or response head, in bytes (a larger request head: 431).
    public var maxHeadBytes = 64 * 1024
    public var logger: Logger
    /// One line per request: client, host, method, path, status, bytes, duration, route.
    public var accessLogger: Logger
    /// HTTP-01 answers, served before any route (the plain HTTP listener only).
    public var challenges: ACMEChallenges?

    public init(routes: SharedRoutes, tls: Bool, logger: Logger) {
        self.routes = routes
        self.tls = tls
        self.logger = logger
        var access = logger
        access[metadataKey: "log"] = "access"
        accessLogger = access
    }
}

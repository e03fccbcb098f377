public import Net
import NIOCore

/// Settings of `nscore tcp-proxy`.
public struct TCPProxyConfiguration: Sendable {
    /// Where clients connect, the connection limit and the idle timeout.
    public var listener: ListenerConfiguration
    /// Upstream endpoints (failover in order), connect timeout, optional TLS.
    public var upstream: UpstreamConfiguration
    /// How long a graceful shutdown waits for open connections to finish.
    public var drainTimeout: Duration
    /// Most bytes held for a client whose upstream is not connected yet
    /// (NIO reads them when the client half-closes early); past it the client is closed.
    public var maxEarlyBytes: Int

    /// Creates a configuration. The listener always starts connections with
    /// reads off: a client's bytes are read once its upstream is connected.
    public init(listener: ListenerConfiguration, upstream: UpstreamConfiguration, drainTimeout: Duration = .seconds(10),
                maxEarlyBytes: Int = 256 << 10) {
        var listener = listener
        listener.childAutoRead = false
        self.listener = listener
        self.upstream = upstream
        self.drainTimeout = drainTimeout
        self.maxEarlyBytes = maxEarlyBytes
    }
}

public import Logging
public import Net
public import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL

/// The edge's HTTP and HTTPS listeners on Net: ``ProxyHandler`` on the
/// connection's bytes (HTTP/1.1: keep-alive, pipelining in order, 400 on
/// malformed requests, conflicting Content-Length/Transfer-Encoding included),
/// or on each HTTP/2 stream through ``HTTP2StreamBridge``.
public enum EdgeListeners {
    /// Plain HTTP (`--http`): routes, `http2https` redirects.
    public static func startHTTP(_ address: ListenAddress, settings: ProxySettings, group: any EventLoopGroup,
                                 logger: Logger) async throws(ListenerError) -> Listener {
        // No idle-timeout handler in the pipeline: ProxyHandler watches idleness itself (one hop fewer per event).
        try await Listener.start(ListenerConfiguration(name: "edge-http", address: address, idleTimeout: nil),
                                 group: group, logger: logger) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ProxyHandler(settings: settings, ownsConnection: true))
            }
        }
    }

    /// HTTPS (`--https`): TLS from `store` (SNI per handshake), then HTTP/2 when the client offers
    /// `h2` by ALPN (each stream proxied as one HTTP/1.1 exchange to the backend), else HTTP/1.1.
    public static func startHTTPS(_ address: ListenAddress, store: CertificateStore, settings: ProxySettings,
                                  group: any EventLoopGroup, logger: Logger) async throws -> Listener {
        let context = try NIOSSLContext(configuration: try store.serverConfiguration(applicationProtocols: ["h2", "http/1.1"]))
        return try await Listener.start(ListenerConfiguration(name: "edge-https", address: address, idleTimeout: settings.idleTimeout),
                                        group: group, logger: logger) { channel in
            do { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return channel.configureHTTP2SecureUpgrade(
                h2ChannelConfigurator: { connection in
                    connection.configureHTTP2Pipeline(mode: .server) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            try stream.pipeline.syncOperations.addHandler(HTTP2StreamBridge(maxHeadBytes: settings.maxHeadBytes))
                            try stream.pipeline.syncOperations.addHandler(ProxyHandler(settings: settings))
                        }
                    }.map { _ in }
                },
                http1ChannelConfigurator: { connection in
                    connection.eventLoop.makeCompletedFuture {
                        // The handshake is done: ProxyHandler takes over the idle timeout (one hop fewer per event).
                        let pipeline = connection.pipeline.syncOperations
                        if let idle = try? pipeline.context(handlerType: IdleTimeoutHandler.self) { pipeline.removeHandler(context: idle, promise: nil) }
                        try pipeline.addHandler(ProxyHandler(settings: settings, ownsConnection: true))
                    }
                })
        }
    }
}

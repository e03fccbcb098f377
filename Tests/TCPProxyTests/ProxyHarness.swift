import Foundation
import Logging
import Net
import NetTestSupport
import NIOCore
import NIOPosix
import TCPProxy

/// Loops of this target's own: its relays move up to 64 MiB each way in this process, which on the
/// process-wide singleton delayed other suites' replies past their timeouts (a Redis client's 1.2 s
/// blocking deadline fired while a loop of the singleton was busy relaying).
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
let testLogger: Logger = {
    var l = Logger(label: "test.tcp-proxy")
    l.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return l
}()

/// Starts a tcp-proxy on a free loopback port in front of `upstreams`, runs
/// `body`, then closes the proxy whatever happens.
func withProxy<T>(
    upstreams: [Endpoint],
    maxConnections: Int = 1000,
    idleTimeout: TimeAmount? = nil,
    connectTimeout: TimeAmount = .seconds(2),
    tls: TLSClientConfiguration? = nil,
    maxEarlyBytes: Int = 256 << 10,
    _ body: (Listener, Int) async throws -> T
) async throws -> T {
    let configuration = TCPProxyConfiguration(
        listener: ListenerConfiguration(name: "test", address: .bind(Endpoint(host: "127.0.0.1", port: 0)),
                                        maxConnections: maxConnections, idleTimeout: idleTimeout),
        upstream: UpstreamConfiguration(endpoints: upstreams, connectTimeout: connectTimeout, tls: tls),
        maxEarlyBytes: maxEarlyBytes)
    let service = try TCPProxyService(configuration: configuration, group: group, logger: testLogger)
    let listener = try await service.start()
    let port = listener.localAddress!.port!
    do {
        let result = try await body(listener, port)
        await listener.close()
        return result
    } catch {
        await listener.close()
        throw error
    }
}

func local(_ port: Int) -> Endpoint { Endpoint(host: "127.0.0.1", port: port) }

func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    try await waitFor(timeout: timeout, condition)
}

public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle

/// Runs a process's services the same way for every subcommand: logging
/// bootstrap, event loops, optional Prometheus endpoint, and a service group
/// that turns SIGTERM/SIGINT into a graceful shutdown.
public enum ServiceRunner {
    /// Process-wide settings shared by every service subcommand.
    public struct Options: Sendable {
        /// Minimum level logged.
        public var logLevel: Logger.Level
        /// Where to serve `/metrics`, or nil for no endpoint.
        public var metricsEndpoint: Endpoint?
        /// Event loop threads.
        public var threads: Int

        /// Creates the options; `threads` defaults to one per core.
        public init(logLevel: Logger.Level = .info, metricsEndpoint: Endpoint? = nil, threads: Int? = nil) {
            self.logLevel = logLevel
            self.metricsEndpoint = metricsEndpoint
            self.threads = threads ?? System.coreCount
        }
    }

    /// Sets everything up, runs the services made by `makeServices` until
    /// they finish or a signal asks for shutdown, then stops the event loops.
    /// - Throws: whatever `makeServices` throws, or the first service error.
    public static func run(
        label: String,
        options: Options,
        makeServices: (any EventLoopGroup, Logger) throws -> [any Service]
    ) async throws {
        LogSetup.bootstrap(level: options.logLevel)
        let logger = Logger(label: label)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        do {
            var services = try makeServices(group, logger)
            if let endpoint = options.metricsEndpoint {
                let registry = MetricsEndpoint.bootstrapMetrics()
                services.append(MetricsEndpoint(endpoint: endpoint, registry: registry, group: group, logger: logger))
            }
            let serviceGroup = ServiceGroup(configuration: .init(
                services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await serviceGroup.run()
        } catch {
            logger.critical("stopped on error", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        logger.debug("event loops stopped")
    }
}

import ArgumentParser
import Logging
import Net
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Options every service subcommand takes.
struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Log level: trace, debug, info, notice, warning, error, critical (default: $LOG_LEVEL or info).",
        valueName: "level"))
    var logLevel: String?

    @Option(help: ArgumentHelp(
        "Serve Prometheus metrics on http://ADDRESS/metrics (e.g. 127.0.0.1:9100); off by default.",
        valueName: "address"))
    var metricsAddress: String?

    @Option(help: ArgumentHelp("Event loop threads (default: one per core).", valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let level = logLevel ?? env("LOG_LEVEL"), LogSetup.parseLevel(level) == nil {
            throw ValidationError("unknown log level '\(level)': use trace, debug, info, notice, warning, error or critical")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let metricsAddress { _ = try parseEndpoint(metricsAddress, option: "--metrics-address") }
    }

    /// Sets up logging and metrics, runs `services` under a service group that
    /// turns SIGTERM/SIGINT into a graceful shutdown, then stops the event loops.
    func run(
        label: String,
        makeServices: (any EventLoopGroup, Logger) throws -> [any Service]
    ) async throws {
        let level = LogSetup.parseLevel(logLevel ?? env("LOG_LEVEL") ?? "info") ?? .info
        LogSetup.bootstrap(level: level)
        let logger = Logger(label: label)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        var services = try makeServices(group, logger)
        if let metricsAddress {
            let registry = MetricsEndpoint.bootstrapMetrics()
            let endpoint = try parseEndpoint(metricsAddress, option: "--metrics-address")
            services.append(MetricsEndpoint(endpoint: endpoint, registry: registry, group: group, logger: logger))
        }
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        do {
            try await serviceGroup.run()
        } catch {
            logger.critical("stopped on error", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            throw ExitCode.failure
        }
        try? await group.shutdownGracefully()
    }
}

func env(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let s = String(cString: p)
    return s.isEmpty ? nil : s
}

func parseEndpoint(_ text: String, option: String) throws -> Endpoint {
    do { return try Endpoint(parsing: text) } catch { throw ValidationError("\(option): \(error)") }
}

extension TimeAmount {
    init(seconds: Double) {
        self = .nanoseconds(Int64(seconds * 1_000_000_000))
    }
}

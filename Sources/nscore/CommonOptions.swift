import ArgumentParser
import Logging
import Net
import NIOCore
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
        if let level = logLevel ?? environmentValue("LOG_LEVEL"), LogSetup.parseLevel(level) == nil {
            throw ValidationError("unknown log level '\(level)': use trace, debug, info, notice, warning, error or critical")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let metricsAddress { _ = try parseEndpoint(metricsAddress, option: "--metrics-address") }
    }

    /// Runs `makeServices`' services with these options (see ``ServiceRunner``).
    func run(
        label: String,
        makeServices: (any EventLoopGroup, Logger) throws -> [any Service]
    ) async throws {
        let options = ServiceRunner.Options(
            logLevel: LogSetup.parseLevel(logLevel ?? environmentValue("LOG_LEVEL") ?? "info") ?? .info,
            metricsEndpoint: try metricsAddress.map { try parseEndpoint($0, option: "--metrics-address") },
            threads: threads)
        do {
            try await ServiceRunner.run(label: label, options: options, makeServices: makeServices)
        } catch {
            throw ExitCode.failure
        }
    }
}

func parseEndpoint(_ text: String, option: String) throws -> Endpoint {
    do { return try Endpoint(parsing: text) } catch { throw ValidationError("\(option): \(error)") }
}

extension TimeAmount {
    init(seconds: Double) {
        self = .nanoseconds(Int64(seconds * 1_000_000_000))
    }
}

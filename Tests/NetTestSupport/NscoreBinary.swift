import Foundation

/// Path of the built `nscore` executable (next to the test bundle).
public let nscoreBinary: String = {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    for dir in [bundleDir, Bundle.main.bundleURL.path, Bundle.main.bundleURL.deletingLastPathComponent().path] {
        let candidate = dir + "/nscore"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return bundleDir + "/nscore"
}()

/// Runs nscore to completion (waited for on ``blockingPool``); returns exit status and combined output.
public func runNscore(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await runCommandOffPool(nscoreBinary, arguments)
}

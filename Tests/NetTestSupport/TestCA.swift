import NIOPosix
import Foundation

/// A throw-away certificate authority and a server certificate for
/// `localhost` / `127.0.0.1`, made with the openssl command line (waited
/// for on ``blockingPool``: suites make these at the start, all at once).
public struct TestCA: Sendable {
    public let directory: String
    public var caCertificate: String { directory + "/ca.pem" }
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }

    public init(name: String = "nscore-test-ca") async throws {
        directory = try makeTempDirectory(prefix: "nscore-ca")
        let d = directory
        try await runOffPool("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                  "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2", "-subj", "/CN=\(name)"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(d)/san.ext", atomically: true, encoding: .utf8)
        try await runOffPool("/usr/bin/openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                  "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=localhost"])
        try await runOffPool("/usr/bin/openssl", ["x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                                                  "-CAcreateserial", "-out", "\(d)/server.pem", "-days", "2", "-extfile", "\(d)/san.ext"])
    }
}

/// A fresh private directory under the system temp dir.
public func makeTempDirectory(prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a command to completion; returns its status and combined output.
/// It blocks the calling thread: from async code use ``runCommandOffPool(_:_:)``.
public func runCommand(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// Runs a command to completion on ``blockingPool``; throws with its output when it fails.
public func runOffPool(_ path: String, _ arguments: [String]) async throws {
    let (status, output) = try await runCommandOffPool(path, arguments)
    guard status == 0 else {
        throw CommandFailed(command: ([path] + arguments).joined(separator: " "), status: status, output: output)
    }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let output: String

    public init(command: String, status: Int32, output: String) {
        self.command = command
        self.status = status
        self.output = output
    }
    public var description: String { "\(command) exited \(status): \(output)" }
}

/// Threads for tests' blocking waits (child processes, blocking sockets),
/// so that they never hold the cooperative pool other suites' timers run on.
public let blockingPool: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: 16)
    pool.start()
    return pool
}()

/// ``runCommand(_:_:)`` waited for on ``blockingPool``.
public func runCommandOffPool(_ path: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await blockingPool.runIfActive { try runCommand(path, arguments) }
}

public import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A Unix socket that answers every connection with a service's status
/// document and closes (mode 0600: documents name users and peers).
public enum StatusSocket {
    /// Listens on `path` (a stale socket file is replaced).
    public static func start(path: String, group: any EventLoopGroup, document: @escaping @Sendable () async -> String) async throws {
        unlinkSocket(path)
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: String.self)
                    promise.completeWithTask { await document() }
                    promise.futureResult.whenSuccess { text in
                        channel.writeAndFlush(channel.allocator.buffer(string: text + "\n")).whenComplete { _ in
                            channel.close(promise: nil)
                        }
                    }
                }
            }
            .bind(unixDomainSocketPath: path).get()
        chmod(path, 0o600)
        _ = channel
    }


    /// Reads the status document a running service serves at `path`.
    public static func fetch(path: String) throws(StatusFetchError) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StatusFetchError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw StatusFetchError(path: path, reason: "path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw StatusFetchError(path: path, reason: String(cString: strerror(errno))) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Removes a stale socket file (ignoring a missing one).
public func unlinkSocket(_ path: String) {
    _ = unlink(path)
}

/// The status socket cannot be read.
public struct StatusFetchError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot read the status at \(path): \(reason) (is the service running with --status-socket \(path)?)" }
}


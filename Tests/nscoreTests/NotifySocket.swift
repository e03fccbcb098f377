import Foundation
import NetTestSupport

/// A unix datagram socket standing in for systemd's notify socket.
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32

    init(directory: String) throws {
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Collects datagrams until one contains `needle` or `timeout` passes
    /// (the blocking receives run on ``blockingPool``).
    func waitFor(_ needle: String, timeout: Duration = .seconds(10)) async -> [String] {
        (try? await blockingPool.runIfActive { self.collect(needle, timeout: timeout) }) ?? []
    }

    private func collect(_ needle: String, timeout: Duration) -> [String] {
        var messages: [String] = []
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while clock.now < end {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                let message = String(decoding: buffer[0..<n], as: UTF8.self)
                messages.append(message)
                if message.contains(needle) { break }
            }
        }
        return messages
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

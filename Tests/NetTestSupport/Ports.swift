import Foundation

/// A TCP socket bound to 127.0.0.1 on a kernel-chosen port, and that port.
func boundLoopbackSocket() -> (fd: Int32, address: sockaddr_in) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            precondition(bind(fd, sa, len) == 0, "bind() failed")
            precondition(getsockname(fd, sa, &len) == 0, "getsockname() failed")
        }
    }
    return (fd, addr)
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
public func freePort() -> Int {
    let (fd, addr) = boundLoopbackSocket()
    close(fd)
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A listening socket on 127.0.0.1 that never accepts, with its accept queue
/// filled so that further connects hang (a loopback "blackhole").
public final class BlackholeListener {
    public let port: Int
    private var fds: [Int32] = []

    public init() {
        var (fd, addr) = boundLoopbackSocket()
        precondition(listen(fd, 0) == 0)
        port = Int(UInt16(bigEndian: addr.sin_port))
        fds.append(fd)
        // Fill the accept queue with non-blocking connects that complete.
        for _ in 0..<4 {
            let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    _ = connect(c, sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fds.append(c)
        }
        usleep(100_000)
    }

    deinit { for fd in fds { close(fd) } }
}

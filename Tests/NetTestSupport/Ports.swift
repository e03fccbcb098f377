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

/// A TCP port on 127.0.0.1 that was free a moment ago, for a server a test starts.
///
/// Taken below the kernel's ephemeral range (32768–60999 here), one after the other from a
/// random start: a port of that range, freed for the server to take, could meanwhile become the
/// local port of some outgoing connection (the suites open thousands), and two tests asking at
/// the same time must not get the same port.
public func freePort() -> Int {
    PortCounter.lock.lock()
    defer { PortCounter.lock.unlock() }
    while true {
        PortCounter.next = PortCounter.next >= 32000 ? 20000 : PortCounter.next + 1
        if canBind(PortCounter.next) { return PortCounter.next }
    }
}

private enum PortCounter {
    nonisolated(unsafe) static var next = 20000 + Int.random(in: 0..<12000)
    static let lock = NSLock()
}

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
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

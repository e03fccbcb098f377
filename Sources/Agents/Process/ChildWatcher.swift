import CSpawn
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)

    /// The exit code the protocol reports: the code, or -1 when killed by a signal.
    public var code: Int { if case .exited(let c) = self { Int(c) } else { -1 } }

    init(waitStatus status: Int32) {
        if status & 0x7f == 0 { self = .exited((status >> 8) & 0xff) } else { self = .signaled(status & 0x7f) }
    }
}

/// Waits for the exit of specific children without reaping anyone else's
/// (no `waitpid(-1)`): one thread watches a pidfd per child with epoll.
/// Where pidfds are unavailable, a thread blocks in `waitpid` for that child.
final class ChildWatcher: Sendable {
    static let shared = ChildWatcher()

    private let epfd: Int32
    private let waiting = Mutex<[Int32: (pid: pid_t, continuation: CheckedContinuation<ExitStatus, Never>)]>([:])

    private init() {
        epfd = nscore_epoll_create()
        if epfd >= 0 { Self.startThread(Unmanaged.passRetained(self).toOpaque(), Self.loop) }
    }

    /// Waits until `pid` (a child of this process) exits, and reaps it.
    func wait(_ pid: pid_t) async -> ExitStatus {
        await withCheckedContinuation { (continuation: CheckedContinuation<ExitStatus, Never>) in
            let fd = epfd >= 0 ? nscore_pidfd_open(pid) : -1
            if fd >= 0 {  // pidfds are close-on-exec
                waiting.withLock { $0[fd] = (pid, continuation) }
                if nscore_epoll_add(epfd, fd) == 0 { return }
                _ = waiting.withLock { $0.removeValue(forKey: fd) }
                close(fd)
            }
            let box = Unmanaged.passRetained(WaitBox(pid: pid, continuation: continuation)).toOpaque()
            Self.startThread(box) { raw in
                let box = Unmanaged<WaitBox>.fromOpaque(raw).takeRetainedValue()
                box.continuation.resume(returning: ChildWatcher.reap(box.pid))
            }
        }
    }

    private final class WaitBox: @unchecked Sendable {
        let pid: pid_t
        let continuation: CheckedContinuation<ExitStatus, Never>
        init(pid: pid_t, continuation: CheckedContinuation<ExitStatus, Never>) {
            self.pid = pid
            self.continuation = continuation
        }
    }

    private static func reap(_ pid: pid_t) -> ExitStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(127) }  // not our child any more: nothing to report
        }
        return ExitStatus(waitStatus: status)
    }

    private static let loop: @Sendable (UnsafeMutableRawPointer) -> Void = { raw in
        let watcher = Unmanaged<ChildWatcher>.fromOpaque(raw).takeUnretainedValue()
        var ready = [Int32](repeating: 0, count: 64)
        while true {
            let n = nscore_epoll_wait_fds(watcher.epfd, &ready, 64, -1)
            if n < 0 { if errno == EINTR { continue }; return }
            for fd in ready[0..<Int(n)] {
                nscore_epoll_remove(watcher.epfd, fd)
                guard let entry = watcher.waiting.withLock({ $0.removeValue(forKey: fd) }) else { continue }
                let status = reap(entry.pid)
                close(fd)
                entry.continuation.resume(returning: status)
            }
        }
    }

    /// Starts a detached thread running `body(context)`.
    private static func startThread(_ context: UnsafeMutableRawPointer, _ body: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        final class Start: @unchecked Sendable {
            let body: @Sendable (UnsafeMutableRawPointer) -> Void
            let context: UnsafeMutableRawPointer
            init(_ body: @escaping @Sendable (UnsafeMutableRawPointer) -> Void, _ context: UnsafeMutableRawPointer) {
                self.body = body
                self.context = context
            }
        }
        let start = Unmanaged.passRetained(Start(body, context)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 256 << 10)
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.body(start.context)
            return nil
        }, start)
        pthread_attr_destroy(&attributes)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }
}

import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Talks to systemd's notify socket (`Type=notify` units) through libsystemd.
///
/// Every call is a no-op when the process was not started by systemd
/// (`NOTIFY_SOCKET` unset), so services call it unconditionally.
public enum SystemdNotifier {
    /// True when a notify socket is configured.
    public static var isAvailable: Bool {
        environmentValue("NOTIFY_SOCKET") != nil
    }

    /// `READY=1`: start-up is complete; optional status line.
    public static func ready(status: String? = nil) {
        send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// `STOPPING=1`: graceful shutdown has begun.
    public static func stopping(status: String? = nil) {
        send("STOPPING=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// `STATUS=…`: a one-line state shown by `systemctl status`.
    public static func status(_ text: String) {
        send("STATUS=\(text)")
    }

    /// `WATCHDOG=1`: keep-alive ping.
    public static func watchdogPing() {
        send("WATCHDOG=1")
    }

    /// The watchdog interval systemd expects pings within (`WATCHDOG_USEC`),
    /// or nil when the watchdog is off for this process.
    public static var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    private static func send(_ message: String) {
        guard isAvailable else { return }
        _ = sd_notify(0, message)
    }
}

/// Reads an environment variable; nil when unset or empty.
public func environmentValue(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let value = String(cString: p)
    return value.isEmpty ? nil : value
}

/// Ends the process by `signal` with its default action (after a handled
/// SIGTERM, so that a parent sees "killed by SIGTERM", as systemd expects).
public func dieBySignal(_ number: Int32) -> Never {
    signal(number, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    kill(getpid(), number)
    // The signal is delivered before kill returns for the calling thread; another thread may take it.
    while true { pause() }
}

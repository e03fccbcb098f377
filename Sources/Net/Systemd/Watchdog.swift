/// Pings systemd's watchdog at half of `WATCHDOG_USEC` while running.
///
/// Run it as a child task of the service; it returns at once when the
/// watchdog is not enabled, and stops when the task is cancelled.
public enum SystemdWatchdog {
    /// Pings until cancelled; returns immediately without a watchdog.
    public static func run() async {
        guard let interval = SystemdNotifier.watchdogInterval else { return }
        let period = interval / 2
        while !Task.isCancelled {
            SystemdNotifier.watchdogPing()
            do { try await Task.sleep(for: period) } catch { return }
        }
    }
}

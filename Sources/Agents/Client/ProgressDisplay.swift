import Net

/// How `nscore task run` shows progress on standard error: a bar redrawn
/// in place on a terminal, one line per change otherwise.
public struct ProgressDisplay: Sendable {
    /// True: the in-place bar (a terminal); false: plain lines.
    public let terminal: Bool
    private static let width = 30

    public init(terminal: Bool) {
        self.terminal = terminal
    }

    /// The text for one update.
    public func render(_ p: TaskClient.Progress, elapsed: Duration) -> String {
        let seconds = Int(elapsed.components.seconds)
        let clock = "\(seconds / 60):" + (seconds % 60 < 10 ? "0" : "") + "\(seconds % 60)"
        let percent = max(0, min(100, p.progress))
        if !terminal { return "\(p.status) \(percent)% \(clock)\n" }
        let filled = percent * Self.width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: Self.width - filled)
        return "\r[\(bar)] \(percent < 10 ? "  " : percent < 100 ? " " : "")\(percent)% \(p.status) \(clock)\u{1B}[K" + (p.isFinal ? "\n" : "")
    }

    /// Writes an update to standard error.
    public func show(_ p: TaskClient.Progress, elapsed: Duration) {
        let bytes = Array(render(p, elapsed: elapsed).utf8)
        bytes.withUnsafeBytes { StandardError.write($0) }
    }
}

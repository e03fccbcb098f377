public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler writing one line per record to stderr.
///
/// When stderr is the journal (`JOURNAL_STREAM` names stderr's device and
/// inode), each line starts with the syslog priority prefix (`<3>` error …
/// `<7>` debug) so journald records the right priority, and no timestamp is
/// written (the journal adds one). Otherwise lines carry an ISO-8601
/// timestamp and the level name.
public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journal: Bool

    /// Creates a handler; `journal` nil means detect from `JOURNAL_STREAM`.
    public init(label: String, level: Logger.Level, journal: Bool? = nil) {
        self.label = label
        self.logLevel = level
        self.journal = journal ?? ConsoleLogHandler.stderrIsJournal()
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = ""
        if journal {
            line += "<\(Self.syslogPriority(event.level))>"
        } else {
            line += Self.timestamp() + " " + event.level.rawValue.uppercased() + " "
        }
        if !label.isEmpty { line += label + ": " }
        Self.appendBody(event.message, metadata, event.metadata, to: &line)
        line += "\n"
        StandardError.write(line)
    }

    /// Appends a record's text after the prefix to `line`: the message, then the handler's and
    /// the record's metadata (the record's winning) as ` key=value`, sorted by key.
    public static func appendBody(_ message: Logger.Message, _ metadata: Logger.Metadata, _ extra: Logger.Metadata?,
                                  to line: inout String) {
        line += message.description
        var all = metadata
        if let extra { all.merge(extra) { _, new in new } }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) {
            line += " \(k)=\(v)"
        }
    }

    /// syslog priority for a swift-log level.
    public static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    /// True when `JOURNAL_STREAM=dev:ino` matches stderr.
    public static func stderrIsJournal() -> Bool {
        guard let value = environmentValue("JOURNAL_STREAM") else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    private static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let ms = ts.tv_nsec / 1_000_000
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(tmv.tm_year + 1900)-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T"
            + "\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
    }
}

private let stderrLock = Mutex(())

/// The process's standard output, unbuffered (for tools that mix it with standard error).
public enum StandardOutput {
    /// Writes all of `text` to fd 1.
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard var base = UnsafeRawPointer(bytes.baseAddress) else { return }
            var left = bytes.count
            while left > 0 {
                let n = Glibc.write(1, base, left)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                base += n
                left -= n
            }
        }
    }
}

/// The process's standard error, shared by log lines and copied child
/// output so that neither cuts into the other.
public enum StandardError {
    /// Writes `text` to fd 2 (from the string's own UTF-8 storage: no copy for a native string).
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes all of `bytes` to fd 2 (whole, under the log lock).
    public static func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        stderrLock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(2, base + offset, bytes.count - offset)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}

/// Process-wide logging bootstrap.
public enum LogSetup {
    /// Parses a level name (`trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`).
    public static func parseLevel(_ text: String) -> Logger.Level? {
        Logger.Level(rawValue: text.lowercased())
    }

    /// Installs ``ConsoleLogHandler`` for every logger; call once at start.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label, level: level) }
    }
}

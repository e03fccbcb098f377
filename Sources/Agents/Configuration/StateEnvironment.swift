/// The agent's `./environment` file: `KEY=VALUE` lines written by steps
/// (raw, no quoting; a line without `=` is ignored), re-read before every
/// step and copied to `<agent id>/environment` after every task.
public enum StateEnvironment {
    /// The pairs in file order (later duplicates win where it matters).
    public static func parse(_ text: String) -> [(key: String, value: String)] {
        text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else { return nil }
            return (String(line[..<eq]), String(line[line.index(after: eq)...]))
        }
    }

    /// One pair per key, the last value winning, in order of first appearance (the Redis copy).
    public static func deduplicated(_ pairs: [(key: String, value: String)]) -> [(key: String, value: String)] {
        var index: [String: Int] = [:]
        var out: [(key: String, value: String)] = []
        for (k, v) in pairs {
            if let i = index[k] { out[i].value = v } else { index[k] = out.count; out.append((k, v)) }
        }
        return out
    }

    /// Reads `path` (default `./environment`); a missing file is empty.
    static func load(_ path: String = "./environment") -> [(key: String, value: String)] {
        switch FileSystem.readText(path) {
        case .success(let text): parse(text)
        case .failure: []
        }
    }
}

/// An environment for a child process: later assignments win, order kept.
struct ProcessEnvironment {
    private var order: [String] = []
    private var values: [String: String] = [:]

    init() {}

    /// The current process environment.
    static func current() -> ProcessEnvironment {
        var env = ProcessEnvironment()
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                env[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            p += 1
        }
        return env
    }

    subscript(key: String) -> String? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { order.append(key) }
            if newValue == nil { order.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    mutating func merge(_ pairs: [(key: String, value: String)]) {
        for (k, v) in pairs { self[k] = v }
    }

    /// `KEY=VALUE` strings for `execve`.
    var entries: [String] { order.map { "\($0)=\(values[$0]!)" } }
}

#if canImport(Glibc)
import Glibc
#endif

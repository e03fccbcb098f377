import FoundationEssentials

/// A systemd-style environment file (`EnvironmentFile=`): `KEY=VALUE` lines,
/// blank lines and `#`/`;` comments ignored, values optionally in single or
/// double quotes. Agents' `state/agent.env` uses this format.
public enum EnvironmentFile {
    /// Parses file contents.
    /// - Throws: ``EnvironmentFileError`` naming the first bad line.
    public static func parse(_ text: String) throws(EnvironmentFileError) -> [String: String] {
        var result: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmedSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw .badLine(number + 1, "expected KEY=VALUE")
            }
            let key = line[..<eq].trimmedSpaces
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !(key.first?.isNumber ?? true) else {
                throw .badLine(number + 1, "'\(key)' is not a variable name")
            }
            var value = line[line.index(after: eq)...].trimmedSpaces
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            result[key] = value
        }
        return result
    }

    /// Reads and parses a file.
    public static func load(path: String) throws(EnvironmentFileError) -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw .unreadable(path, "\(error)") }
        do { return try parse(text) } catch { throw error.at(path) }
    }
}

/// Why an environment file cannot be used.
public enum EnvironmentFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String, String)
    case badLine(Int, String)
    case badLineInFile(String, Int, String)

    func at(_ path: String) -> EnvironmentFileError {
        if case .badLine(let n, let why) = self { return .badLineInFile(path, n, why) }
        return self
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "cannot read environment file \(path): \(why)"
        case .badLine(let n, let why): "environment line \(n): \(why)"
        case .badLineInFile(let path, let n, let why): "\(path):\(n): \(why)"
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmedSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

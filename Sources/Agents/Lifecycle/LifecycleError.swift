/// Why a module lifecycle step failed, and what to do about it.
public enum LifecycleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request cannot be carried out as given (reported as validation-failed): nothing was changed.
    case invalid(parameter: String, String)
    /// An external tool failed.
    case tool(String, status: Int, output: String)
    /// Redis refused or could not be reached.
    case redis(String)
    /// A file or directory operation failed.
    case system(String)

    public var description: String {
        switch self {
        case .invalid(let parameter, let why): "\(parameter): \(why)"
        case .tool(let command, let status, let output):
            "\(command) failed (exit \(status))" + (output.isEmpty ? "" : ": " + output.trimmingSuffixWhitespace)
        case .redis(let why): "Redis: \(why)"
        case .system(let why): why
        }
    }
}

extension String {
    var trimmingSuffixWhitespace: String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// A command a step writes on its command pipe (`AGENT_COMFD`).
public enum StepCommand: Equatable, Sendable {
    /// `set-progress N`: progress of the running step, 0–100.
    case setProgress(Int)
    /// `set-weight STEP W`: weight of a step of this action.
    case setWeight(step: String, weight: Int)
    /// `set-status validation-failed`.
    case setValidationFailed

    /// Why a command line was refused (logged, never fatal).
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Parses one line (without its LF; a trailing CR is dropped): fields
    /// separated by single spaces, a field may be double-quoted with `""`
    /// for a quote inside (the platform's csv-style reader).
    public static func parse(_ line: Substring) throws(Refusal) -> StepCommand {
        let fields = try split(line.hasSuffix("\r") ? line.dropLast() : line)
        guard let name = fields.first else { throw Refusal(reason: "Parse error: empty command") }
        func integer(_ i: Int, _ what: String) throws(Refusal) -> Int {
            guard i < fields.count else { throw Refusal(reason: "\(name) command failed: missing \(what)") }
            guard let v = Int(fields[i]) else {
                throw Refusal(reason: "\(name) command failed: strconv.Atoi: parsing \"\(fields[i])\": invalid syntax")
            }
            return v
        }
        switch name {
        case "set-progress":
            let p = try integer(1, "progress value")
            guard (0...100).contains(p) else { throw Refusal(reason: "set-progress command failed: Invalid step progress value: \(p)") }
            return .setProgress(p)
        case "set-weight":
            guard fields.count > 1 else { throw Refusal(reason: "set-weight command failed: missing step name") }
            let w = try integer(2, "weight")
            guard w >= 0 else { throw Refusal(reason: "set-weight command failed: Invalid step weight value: \(w)") }
            return .setWeight(step: fields[1], weight: w)
        case "set-status":
            guard fields.count > 1 else { throw Refusal(reason: "set-status command failed: missing status") }
            guard fields[1] == "validation-failed" else {
                throw Refusal(reason: "set-status command failed: unknown status \"\(fields[1])\"")
            }
            return .setValidationFailed
        default:
            throw Refusal(reason: "Unknown command \(name)")
        }
    }

    private static func split(_ line: Substring) throws(Refusal) -> [String] {
        if line.isEmpty { return [] }
        var fields: [String] = []
        var field = ""
        var i = line.startIndex
        var quoted = false
        var fieldStart = true
        while i < line.endIndex {
            let c = line[i]
            if quoted {
                if c == "\"" {
                    let next = line.index(after: i)
                    if next < line.endIndex, line[next] == "\"" {
                        field.append("\"")
                        i = line.index(after: next)
                        continue
                    }
                    quoted = false
                    let after = line.index(after: i)
                    if after < line.endIndex, line[after] != " " {
                        throw Refusal(reason: "Parse error: extraneous \" in field")
                    }
                } else {
                    field.append(c)
                }
            } else if c == " " {
                fields.append(field)
                field = ""
                fieldStart = true
                i = line.index(after: i)
                continue
            } else if c == "\"" {
                guard fieldStart else { throw Refusal(reason: "Parse error: bare \" in non-quoted field") }
                quoted = true
            } else {
                field.append(c)
            }
            fieldStart = false
            i = line.index(after: i)
        }
        if quoted { throw Refusal(reason: "Parse error: extraneous or missing \" in quoted field") }
        fields.append(field)
        return fields
    }
}

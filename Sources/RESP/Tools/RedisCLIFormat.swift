public import NIOCore

/// Renders replies the way `redis-cli` does: its human format on a
/// terminal (`"quoted"`, `(integer) 1`, `1) …`), its raw format otherwise.
public enum RedisCLIFormat {
    /// `redis-cli`'s terminal format, ending with a newline.
    public static func tty(_ value: RESPValue, prefix: String = "") -> String {
        switch value {
        case .simpleError(let b), .bulkError(let b): return "(error) \(String(buffer: b))\n"
        case .simpleString(let b): return String(buffer: b) + "\n"
        case .integer(let i): return "(integer) \(i)\n"
        case .double(let d): return "(double) \(formatDouble(d))\n"
        case .bulkString(let b): return quoted(b) + "\n"
        case .verbatimString(_, let b): return String(buffer: b) + "\n"
        case .null: return "(nil)\n"
        case .boolean(let b): return b ? "(true)\n" : "(false)\n"
        case .bigNumber(let n): return "(big number) \(n)\n"
        case .attributed(_, let v): return tty(v, prefix: prefix)
        case .array(let e): return aggregate(e, empty: "(empty array)", separator: ")", prefix: prefix)
        case .push(let e): return aggregate(e, empty: "(empty push)", separator: ")", prefix: prefix)
        case .set(let e): return aggregate(e, empty: "(empty set)", separator: "~", prefix: prefix)
        case .map(let pairs):
            return aggregate(pairs.flatMap { [$0.key, $0.value] }, empty: "(empty hash)", separator: "#", prefix: prefix, isMap: true)
        }
    }

    private static func aggregate(_ elements: [RESPValue], empty: String, separator: Character,
                                  prefix: String, isMap: Bool = false) -> String {
        if elements.isEmpty { return empty + "\n" }
        let count = isMap ? elements.count / 2 : elements.count
        let width = String(count).count
        let nested = prefix + String(repeating: " ", count: width + 2)
        var out = ""
        var i = 0
        while i < elements.count {
            let index = String(i / (isMap ? 2 : 1) + 1)
            out += (i == 0 ? "" : prefix) + String(repeating: " ", count: width - index.count) + index + "\(separator) "
            out += tty(elements[i], prefix: nested)
            if isMap {
                out.removeLast()
                out += " => " + tty(elements[i + 1], prefix: nested)
                i += 1
            }
            i += 1
        }
        return out
    }

    /// `redis-cli --raw`: bare values, one element per line, nil as an empty line.
    public static func raw(_ value: RESPValue) -> String {
        rawBody(value) + "\n"
    }

    private static func rawBody(_ value: RESPValue) -> String {
        switch value {
        case .null: return ""
        case .simpleError(let b), .bulkError(let b): return String(buffer: b) + "\n"
        case .simpleString(let b), .bulkString(let b), .verbatimString(_, let b): return String(buffer: b)
        case .boolean(let b): return b ? "(true)" : "(false)"
        case .integer(let i): return String(i)
        case .double(let d): return formatDouble(d)
        case .bigNumber(let n): return n
        case .attributed(_, let v): return rawBody(v)
        case .array(let e), .set(let e), .push(let e): return e.map(rawBody).joined(separator: "\n")
        case .map(let pairs): return pairs.map { rawBody($0.key) + " " + rawBody($0.value) }.joined(separator: "\n")
        }
    }

    private static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e17 { return String(Int64(d)) }
        return String(d)
    }

    /// `sdscatrepr`: quotes, backslash escapes, `\xHH` for the unprintable.
    public static func quoted(_ bytes: ByteBuffer) -> String {
        var out = "\""
        for byte in bytes.readableBytesView {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 10: out += "\\n"
            case 13: out += "\\r"
            case 9: out += "\\t"
            case 7: out += "\\a"
            case 8: out += "\\b"
            case 32...126: out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out + "\""
    }
}

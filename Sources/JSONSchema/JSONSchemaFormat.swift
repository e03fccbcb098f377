/// The `format` values the validator asserts. Unknown formats are
/// annotations only (always valid), as the specification asks.
public enum JSONSchemaFormat {
    /// The formats that are checked.
    public static let asserted: Set<String> = [
        "email", "hostname", "ipv4", "ipv6", "uri", "uri-reference", "date-time", "date", "time",
        "uuid", "json-pointer", "relative-json-pointer", "regex",
    ]

    /// True when `text` is a valid `name`, or `name` is not an asserted format.
    public static func check(_ name: String, _ text: String) -> Bool {
        switch name {
        case "email": return isEmail(text)
        case "hostname": return isHostname(text)
        case "ipv4": return isIPv4(text)
        case "ipv6": return isIPv6(text)
        case "uri": return URISyntax.isURI(text)
        case "uri-reference": return URISyntax.isReference(text)
        case "date-time": return isDateTime(text)
        case "date": return isDate(Array(text.utf8)[...])
        case "time": return isTime(Array(text.utf8)[...])
        case "uuid": return isUUID(text)
        case "json-pointer": return isJSONPointer(Substring(text))
        case "relative-json-pointer": return isRelativeJSONPointer(text)
        case "regex": return (try? ECMARegex(text)) != nil
        default: return true
        }
    }

    // MARK: dates and times (RFC 3339 section 5.6)

    static func isDateTime(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count > 11, b[10] | 0x20 == UInt8(ascii: "t") else { return false }
        return isDate(b[0..<10]) && isTime(b[11...])
    }

    private static func digits(_ b: ArraySlice<UInt8>, _ from: Int, _ n: Int) -> Int? {
        guard from + n <= b.endIndex else { return nil }
        var v = 0
        for i in from..<from + n {
            guard b[i] >= 48, b[i] <= 57 else { return nil }
            v = v * 10 + Int(b[i] - 48)
        }
        return v
    }

    static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count == 10, b[s + 4] == UInt8(ascii: "-"), b[s + 7] == UInt8(ascii: "-"),
              let y = digits(b, s, 4), let m = digits(b, s + 5, 2), let d = digits(b, s + 8, 2),
              (1...12).contains(m), d >= 1 else { return false }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return d <= days[m - 1]
    }

    static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count >= 9, b[s + 2] == UInt8(ascii: ":"), b[s + 5] == UInt8(ascii: ":"),
              let h = digits(b, s, 2), let m = digits(b, s + 3, 2), let sec = digits(b, s + 6, 2),
              h <= 23, m <= 59, sec <= 60 else { return false }
        var i = s + 8
        if i < b.endIndex, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.endIndex, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard i > start else { return false }
        }
        guard i < b.endIndex else { return false }
        var offset = 0  // minutes east of UTC
        if b[i] | 0x20 == UInt8(ascii: "z") {
            guard i + 1 == b.endIndex else { return false }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.endIndex,
                  b[i + 3] == UInt8(ascii: ":"), let oh = digits(b, i + 1, 2), let om = digits(b, i + 4, 2),
                  oh <= 23, om <= 59 else { return false }
            offset = (oh * 60 + om) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        if sec == 60 {
            // A leap second happens at 23:59:60 UTC only.
            let utc = ((h * 60 + m - offset) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    // MARK: identifiers

    static func isUUID(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard isHex(c) else { return false }
            }
        }
        return true
    }

    static func isHex(_ c: UInt8) -> Bool {
        (48...57).contains(c) || (65...70).contains(c) || (97...102).contains(c)
    }

    static func isJSONPointer(_ text: Substring) -> Bool {
        if text.isEmpty { return true }
        guard text.first == "/" else { return false }
        var previous: Character = " "
        for c in text {
            if previous == "~", c != "0", c != "1" { return false }
            previous = c
        }
        return previous != "~"
    }

    static func isRelativeJSONPointer(_ text: String) -> Bool {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits == "0" || digits.first != "0" else { return false }
        let rest = text.dropFirst(digits.count)
        return rest == "#" || isJSONPointer(rest)
    }
}

/// Durations written the way the platform's configuration writes them
/// (Go's `time.ParseDuration`): `75ms`, `5s`, `1m`, `1h30m`, `1.5s`.
public enum GoDuration {
    /// Parses `text`; nil when it is not a duration (or is negative).
    public static func parse(_ text: String) -> Duration? {
        var s = Substring(text)
        if s == "0" { return .zero }
        if s.hasPrefix("+") { s = s.dropFirst() }
        guard !s.isEmpty, !s.hasPrefix("-") else { return nil }
        var total: Double = 0  // nanoseconds
        while !s.isEmpty {
            let number = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number) else {
                return nil
            }
            s = s.dropFirst(number.count)
            let unit = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
        }
        guard total < 9.2e18 else { return nil }
        return .nanoseconds(Int64(total))
    }
}

/// A JSON value that keeps object members in their original order (task
/// data is written back as it came) and compares the way JSON Schema does:
/// numbers by value (`1 == 1.0`), objects regardless of member order.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order; names are unique (a later duplicate replaces the earlier value).
    case object([(name: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        // Code point for code point: "é" and "e\u{301}" are different JSON strings.
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (name, value) in x {
                guard let other = y.first(where: { $0.name == name }), other.value == value else { return false }
            }
            return true
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let members):
            // Order-insensitive: combine a sum of member hashes.
            var sum = 0
            for (name, value) in members {
                var h = Hasher()
                h.combine(name)
                h.combine(value)
                sum &+= h.finalize()
            }
            hasher.combine(sum)
        }
    }

    /// The member named `name` of an object.
    public subscript(name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.name == name })?.value
    }

    /// True for a number without a fractional part (JSON Schema's "integer").
    public var isInteger: Bool {
        guard case .number(let d) = self else { return false }
        return d.isFinite && d.rounded(.towardZero) == d
    }
}

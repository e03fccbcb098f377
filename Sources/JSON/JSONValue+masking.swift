extension JSONValue {
    /// Name endings whose values are secrets (AGENT-PROTOCOL.md, task context).
    public static let secretNameSuffixes = ["password", "secret", "token", "key", "pass"]

    /// A copy with every object member whose name ends (case-insensitive)
    /// with a secret suffix replaced by `"XXX"`, at any depth; everything
    /// else (arrays, numbers, order) unchanged.
    public var maskingSecrets: JSONValue {
        switch self {
        case .array(let items):
            return .array(items.map(\.maskingSecrets))
        case .object(let members):
            return .object(members.map { member in
                let lower = member.name.lowercased()
                if Self.secretNameSuffixes.contains(where: { lower.hasSuffix($0) }) {
                    return (member.name, .string("XXX"))
                }
                return (member.name, member.value.maskingSecrets)
            })
        default:
            return self
        }
    }
}

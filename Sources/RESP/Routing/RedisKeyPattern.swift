/// A Redis-style glob over key bytes: `*` (any run), `?` (any byte) and
/// `\` (take the next byte literally). Used for the public key patterns
/// of the `default` user (`cluster/*`, `node/*`, `module/*`).
public struct RedisKeyPattern: Sendable, Hashable, CustomStringConvertible {
    private let pattern: [UInt8]

    /// Creates a pattern from its text.
    public init(_ text: String) {
        pattern = Array(text.utf8)
    }

    public var description: String { String(decoding: pattern, as: UTF8.self) }

    /// True when the whole of `key` matches.
    public func matches(_ key: some Collection<UInt8>) -> Bool {
        if let result = key.withContiguousStorageIfAvailable({ match($0) }) { return result }
        return Array(key).withUnsafeBufferPointer { match($0) }
    }

    private func match(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        pattern.withUnsafeBufferPointer { pattern in
            var p = 0, k = 0
            var star: Int? = nil, starKey = 0
            while k < key.count {
                if p < pattern.count {
                    switch pattern[p] {
                    case UInt8(ascii: "*"):
                        star = p; starKey = k; p += 1
                        continue
                    case UInt8(ascii: "?"):
                        p += 1; k += 1
                        continue
                    case UInt8(ascii: "\\") where p + 1 < pattern.count:
                        if pattern[p + 1] == key[k] { p += 2; k += 1; continue }
                    default:
                        if pattern[p] == key[k] { p += 1; k += 1; continue }
                    }
                }
                guard let s = star else { return false }
                p = s + 1; starKey += 1; k = starKey
            }
            while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
            return p == pattern.count
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address with a prefix length (`10.0.0.0/8`, `::1`, `192.0.2.7`).
public struct IPRange: Sendable, Equatable {
    let bytes: [UInt8]
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = parts.first.flatMap({ Self.parse(String($0)) }) else { return nil }
        let maxPrefix = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = maxPrefix
        }
        bytes = address
    }

    /// Whether `address` (text, as a socket reports it) is inside the range.
    public func contains(_ address: String) -> Bool {
        IPAddress(address).map(contains) ?? false
    }

    /// Whether `address` (parsed once, e.g. per connection) is inside the range.
    public func contains(_ address: IPAddress) -> Bool {
        var other = address.bytes
        // An IPv4-mapped IPv6 client against an IPv4 range.
        if other.count == 16, bytes.count == 4, other.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] { other = Array(other.suffix(4)) }
        guard other.count == bytes.count else { return false }
        var left = prefix
        for i in 0..<bytes.count where left > 0 {
            let bits = min(8, left)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if bytes[i] & mask != other[i] & mask { return false }
            left -= bits
        }
        return true
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

/// An IPv4 or IPv6 address in network byte order, parsed from text once.
public struct IPAddress: Sendable, Equatable {
    let bytes: [UInt8]

    public init?(_ text: String) {
        guard let bytes = IPRange.parse(text) else { return nil }
        self.bytes = bytes
    }
}

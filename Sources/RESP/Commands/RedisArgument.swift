public import NIOCore

/// A command argument as the command table reads it: `String` for callers
/// of the client, `ByteBuffer` for bytes taken off the wire by a proxy.
public protocol RedisArgument {
    /// The argument lower-cased (ASCII), as a command-table name.
    var lowercasedName: String { get }
    /// True when the argument equals `keyword` ignoring ASCII case.
    func equalsIgnoringCase(_ keyword: String) -> Bool
    /// The argument as a decimal integer, nil if it is not one.
    var integerValue: Int? { get }
    /// The argument's bytes.
    associatedtype Bytes: Collection<UInt8>
    var bytes: Bytes { get }
}

extension String: RedisArgument {
    public var lowercasedName: String { lowercased() }
    public func equalsIgnoringCase(_ keyword: String) -> Bool {
        utf8.count == keyword.utf8.count && zip(utf8, keyword.utf8).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
    public var integerValue: Int? { Int(self) }
    public var bytes: String.UTF8View { utf8 }
}

extension ByteBuffer: RedisArgument {
    public var lowercasedName: String {
        String(decoding: readableBytesView.lazy.map(asciiLower), as: UTF8.self)
    }
    public func equalsIgnoringCase(_ keyword: String) -> Bool {
        readableBytes == keyword.utf8.count && zip(readableBytesView, keyword.utf8).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
    public var integerValue: Int? { Int(String(decoding: readableBytesView, as: UTF8.self)) }
    public var bytes: ByteBufferView { readableBytesView }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    byte &- 65 < 26 ? byte | 0x20 : byte
}

public import NIOCore

extension RESPValue {
    /// The text of a simple, bulk or verbatim string; nil for anything else.
    public var string: String? {
        switch self {
        case .simpleString(let b), .bulkString(let b), .verbatimString(_, let b): String(buffer: b)
        default: nil
        }
    }

    /// The bytes of a simple, bulk or verbatim string.
    public var bytes: ByteBuffer? {
        switch self {
        case .simpleString(let b), .bulkString(let b), .verbatimString(_, let b): b
        default: nil
        }
    }

    /// An integer reply (or a string holding one, as RESP2 sends some numbers).
    public var int: Int? {
        switch self {
        case .integer(let i): Int(i)
        case .simpleString, .bulkString: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array, set or push.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let e), .set(let e), .push(let e): e
        default: nil
        }
    }

    /// Key/value pairs of a RESP3 map, or of a RESP2 flat array of pairs.
    public var pairs: [(key: RESPValue, value: RESPValue)]? {
        switch self {
        case .map(let m): return m
        case .array(let e) where e.count % 2 == 0:
            return stride(from: 0, to: e.count, by: 2).map { (e[$0], e[$0 + 1]) }
        default: return nil
        }
    }

    /// A short name of the type, for error messages.
    public var typeName: String {
        switch self {
        case .simpleString: "simple string"
        case .simpleError, .bulkError: "error"
        case .integer: "integer"
        case .bulkString: "bulk string"
        case .verbatimString: "verbatim string"
        case .null: "null"
        case .double: "double"
        case .boolean: "boolean"
        case .bigNumber: "big number"
        case .array: "array"
        case .set: "set"
        case .push: "push"
        case .map: "map"
        case .attributed(_, let v): v.typeName
        }
    }
}

public import NIOCore

/// A decoded RESP value. Strings stay `ByteBuffer` views of the token.
public indirect enum RESPValue: Sendable, Hashable {
    case simpleString(ByteBuffer)
    case simpleError(ByteBuffer)
    case integer(Int64)
    case bulkString(ByteBuffer)
    case bulkError(ByteBuffer)
    case verbatimString(format: String, ByteBuffer)
    /// RESP2 null bulk/array and RESP3 `_`.
    case null
    case double(Double)
    case boolean(Bool)
    case bigNumber(String)
    case array([RESPValue])
    case set([RESPValue])
    case push([RESPValue])
    case map([(key: RESPValue, value: RESPValue)])
    /// Attribute metadata and the value it annotates.
    case attributed([(key: RESPValue, value: RESPValue)], RESPValue)

    public static func == (a: RESPValue, b: RESPValue) -> Bool {
        switch (a, b) {
        case (.simpleString(let x), .simpleString(let y)), (.simpleError(let x), .simpleError(let y)),
             (.bulkString(let x), .bulkString(let y)), (.bulkError(let x), .bulkError(let y)):
            return x == y
        case (.verbatimString(let f, let x), .verbatimString(let g, let y)): return f == g && x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.null, .null): return true
        case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.bigNumber(let x), .bigNumber(let y)): return x == y
        case (.array(let x), .array(let y)), (.set(let x), .set(let y)), (.push(let x), .push(let y)): return x == y
        case (.map(let x), .map(let y)): return pairsEqual(x, y)
        case (.attributed(let x, let v), .attributed(let y, let w)): return pairsEqual(x, y) && v == w
        default: return false
        }
    }

    private static func pairsEqual(_ x: [(key: RESPValue, value: RESPValue)], _ y: [(key: RESPValue, value: RESPValue)]) -> Bool {
        x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(String(describing: self))
    }
}

extension RESPToken {
    /// The message of an error reply (`-…` or `!…`), read from the type
    /// byte without decoding anything else; nil for every other type.
    public var errorMessage: String? {
        switch base.getInteger(at: base.readerIndex, as: UInt8.self) {
        case UInt8(ascii: "-"):
            return base.getString(at: base.readerIndex + 1, length: base.readableBytes - 3)
        case UInt8(ascii: "!"):
            if case .bulkError(let message) = value { return String(buffer: message) }
            return nil
        default:
            return nil
        }
    }

    /// True for a RESP3 push message (`>`).
    public var isPush: Bool {
        base.getInteger(at: base.readerIndex, as: UInt8.self) == UInt8(ascii: ">")
    }

    /// The decoded value (the token was validated, so this cannot fail).
    public var value: RESPValue {
        var buffer = base
        return Self.decode(&buffer)
    }

    private static func readLine(_ buffer: inout ByteBuffer) -> ByteBuffer {
        let view = buffer.readableBytesView
        let cr = view.firstIndex(of: 13)!
        let line = buffer.readSlice(length: cr - view.startIndex)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// Reads a validated decimal line without building a String.
    private static func readInt(_ buffer: inout ByteBuffer) -> Int {
        let line = readLine(&buffer)
        var value = 0
        var negative = false
        for byte in line.readableBytesView {
            switch byte {
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "+"): break
            default: value = value &* 10 &+ Int(byte &- 48)
            }
        }
        return negative ? -value : value
    }

    private static func decode(_ buffer: inout ByteBuffer) -> RESPValue {
        let type = buffer.readInteger(as: UInt8.self)!
        switch type {
        case UInt8(ascii: "+"): return .simpleString(readLine(&buffer))
        case UInt8(ascii: "-"): return .simpleError(readLine(&buffer))
        case UInt8(ascii: ":"): return .integer(Int64(readInt(&buffer)))
        case UInt8(ascii: "("): return .bigNumber(String(buffer: readLine(&buffer)))
        case UInt8(ascii: "#"): return .boolean(readLine(&buffer).readableBytesView.first == UInt8(ascii: "t"))
        case UInt8(ascii: "_"): _ = readLine(&buffer); return .null
        case UInt8(ascii: ","):
            let text = String(buffer: readLine(&buffer)).lowercased()
            switch text {
            case "inf", "+inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan", "-nan": return .double(.nan)
            default: return .double(Double(text)!)
            }
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let length = readInt(&buffer)
            if length < 0 { return .null }
            var payload = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 2)
            if type == UInt8(ascii: "!") { return .bulkError(payload) }
            if type == UInt8(ascii: "$") { return .bulkString(payload) }
            let format = String(buffer: payload.readSlice(length: min(4, payload.readableBytes))!)
            return .verbatimString(format: String(format.prefix(3)), payload)
        default:
            let count = readInt(&buffer)
            if count < 0 { return .null }
            switch type {
            case UInt8(ascii: "%"), UInt8(ascii: "|"):
                var pairs: [(key: RESPValue, value: RESPValue)] = []
                pairs.reserveCapacity(count)
                for _ in 0..<count { pairs.append((decode(&buffer), decode(&buffer))) }
                return type == UInt8(ascii: "%") ? .map(pairs) : .attributed(pairs, decode(&buffer))
            default:
                var items: [RESPValue] = []
                items.reserveCapacity(count)
                for _ in 0..<count { items.append(decode(&buffer)) }
                switch type {
                case UInt8(ascii: "~"): return .set(items)
                case UInt8(ascii: ">"): return .push(items)
                default: return .array(items)
                }
            }
        }
    }
}

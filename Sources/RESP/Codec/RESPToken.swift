public import NIOCore

/// One complete, validated RESP2/RESP3 value, kept as a view of the bytes it
/// was received in (no tree of allocations). Decode lazily with ``value``.
public struct RESPToken: Sendable, Hashable {
    /// Exactly the bytes of this value, type byte to final CRLF.
    public let base: ByteBuffer

    /// Wraps bytes already known to hold one valid value.
    init(validated base: ByteBuffer) {
        self.base = base
    }

    /// Takes one complete value off the front of `buffer`.
    ///
    /// - Returns: the token, or nil when `buffer` does not yet hold a whole
    ///   value (nothing is consumed then; call again with more bytes).
    /// - Throws: ``RESPParsingError`` for bytes that can never become valid.
    public static func parse(from buffer: inout ByteBuffer, limits: RESPLimits = .init()) throws(RESPParsingError) -> RESPToken? {
        var progress = RESPParseProgress()
        return try parse(from: &buffer, limits: limits, progress: &progress)
    }

    /// Like ``parse(from:limits:)``, resuming where the previous call on the
    /// same buffer stopped: the elements of a large aggregate that arrives in
    /// many reads are validated once each, not once per read. Pass the same
    /// `progress` until a token comes out (it is then reset).
    public static func parse(from buffer: inout ByteBuffer, limits: RESPLimits,
                             progress: inout RESPParseProgress) throws(RESPParsingError) -> RESPToken? {
        let end: Int? = try buffer.withUnsafeReadableBytes { bytes throws(RESPParsingError) in
            var validator = Validator(bytes: bytes, limits: limits)
            return try validator.token(resuming: &progress)
        }
        guard let end, let slice = buffer.readSlice(length: end) else { return nil }
        return RESPToken(validated: slice)
    }
}

/// Where validation of an incomplete value stopped: the offset of the first
/// element not yet validated and, per open aggregate, how many elements it
/// still expects. Relative to the buffer's reader index.
public struct RESPParseProgress: Sendable {
    var offset = 0
    var remaining: [Int] = []

    /// A fresh start.
    public init() {}

    /// Bytes already validated (and not validated again on the next call).
    public var validatedBytes: Int { offset }
}

/// Finds where one value ends, checking its syntax and limits. Returns nil
/// as soon as the bytes run out. Iterative (an explicit stack of open
/// aggregates), so nesting costs no recursion and can be resumed.
struct Validator {
    let bytes: UnsafeRawBufferPointer
    let limits: RESPLimits

    /// One element: a whole scalar (its end) or an aggregate header (where
    /// its elements start and how many there are).
    enum Step {
        case complete(Int)
        case open(next: Int, elements: Int)
    }

    /// Index just past the value that starts at `progress.offset` (with
    /// `progress.remaining` open aggregates around it), or nil if incomplete.
    mutating func token(resuming progress: inout RESPParseProgress) throws(RESPParsingError) -> Int? {
        var offset = progress.offset
        while true {
            guard let step = try element(at: offset, depth: progress.remaining.count) else {
                progress.offset = offset
                return nil
            }
            switch step {
            case .open(let next, let elements):
                offset = next
                progress.remaining.append(elements)
                continue
            case .complete(let end):
                offset = end
            }
            // An element is complete: close every aggregate it completes.
            while let last = progress.remaining.last, last == 1 { progress.remaining.removeLast() }
            if progress.remaining.isEmpty {
                progress.offset = 0
                return offset
            }
            progress.remaining[progress.remaining.count - 1] -= 1
        }
    }

    /// Validates the element at `i`: a scalar entirely, an aggregate's header only.
    mutating func element(at i: Int, depth: Int) throws(RESPParsingError) -> Step? {
        guard i < bytes.count else { return nil }
        let type = bytes[i]
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            return try line(after: i + 1).map { .complete($0.next) }
        case UInt8(ascii: ":"):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard parseInt(start, lineEnd) != nil else { throw .init(.malformedInteger, at: start) }
            return .complete(next)
        case UInt8(ascii: "("):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard isBigNumber(start, lineEnd) else { throw .init(.malformedInteger, at: start) }
            return .complete(next)
        case UInt8(ascii: ","):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard isDouble(start, lineEnd) else { throw .init(.malformedDouble, at: start) }
            return .complete(next)
        case UInt8(ascii: "#"):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard lineEnd - start == 1, bytes[start] == UInt8(ascii: "t") || bytes[start] == UInt8(ascii: "f") else {
                throw .init(.malformedBoolean, at: start)
            }
            return .complete(next)
        case UInt8(ascii: "_"):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard start == lineEnd else { throw .init(.missingCRLF, at: start) }
            return .complete(next)
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard let length = parseInt(start, lineEnd), length >= -1 else { throw .init(.malformedLength, at: start) }
            if length == -1 {
                guard type == UInt8(ascii: "$") else { throw .init(.malformedLength, at: start) }
                return .complete(next)
            }
            guard length <= limits.maxBulkLength else { throw .init(.bulkTooLong(length, limit: limits.maxBulkLength), at: start) }
            let end = next + length
            guard end + 2 <= bytes.count else { return nil }
            guard bytes[end] == 13, bytes[end + 1] == 10 else { throw .init(.missingCRLF, at: end) }
            return .complete(end + 2)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let (start, lineEnd, next) = try line(after: i + 1) else { return nil }
            guard let count = parseInt(start, lineEnd), count >= -1 else { throw .init(.malformedLength, at: start) }
            if count == -1 {
                guard type == UInt8(ascii: "*") else { throw .init(.malformedLength, at: start) }
                return .complete(next)
            }
            guard count <= limits.maxAggregateLength else {
                throw .init(.aggregateTooLong(count, limit: limits.maxAggregateLength), at: start)
            }
            guard depth < limits.maxDepth else { throw .init(.tooDeep(limit: limits.maxDepth), at: i) }
            switch type {
            // An attribute is metadata for the value that follows it: its
            // pairs plus that value, one level down, so chained attributes
            // count as nesting and cannot recurse without bound.
            case UInt8(ascii: "|"): return .open(next: next, elements: count * 2 + 1)
            case UInt8(ascii: "%"): return count == 0 ? .complete(next) : .open(next: next, elements: count * 2)
            default: return count == 0 ? .complete(next) : .open(next: next, elements: count)
            }
        default:
            throw .init(.unknownType(type), at: i)
        }
    }

    /// The line starting at `start`: its content end and the index after
    /// CRLF. Lines cannot hold CR or LF: a CR not followed by LF is an error.
    private func line(after start: Int) throws(RESPParsingError) -> (start: Int, end: Int, next: Int)? {
        var j = start
        while j < bytes.count {
            switch bytes[j] {
            case 13:
                guard j + 1 < bytes.count else { return nil }
                guard bytes[j + 1] == 10 else { throw .init(.missingCRLF, at: j) }
                return (start, j, j + 2)
            case 10:
                throw .init(.missingCRLF, at: j)
            default:
                j += 1
            }
        }
        return nil
    }

    func parseInt(_ start: Int, _ end: Int) -> Int? {
        var j = start
        var negative = false
        if j < end, bytes[j] == UInt8(ascii: "-") { negative = true; j += 1 }
        else if j < end, bytes[j] == UInt8(ascii: "+") { j += 1 }
        guard j < end, end - j <= 19 else { return nil }
        var value = 0
        while j < end {
            let d = bytes[j] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(d))
            guard !o1, !o2 else { return nil }
            value = a
            j += 1
        }
        return negative ? -value : value
    }

    private func isBigNumber(_ start: Int, _ end: Int) -> Bool {
        var j = start
        if j < end, bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+") { j += 1 }
        guard j < end else { return false }
        while j < end { guard bytes[j] &- 48 < 10 else { return false }; j += 1 }
        return true
    }

    private func isDouble(_ start: Int, _ end: Int) -> Bool {
        guard start < end else { return false }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        return ["inf", "-inf", "+inf", "nan", "-nan"].contains(text.lowercased()) || Double(text) != nil
    }
}

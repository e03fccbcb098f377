/// Why bytes are not a valid RESP value. `offset` counts from the start of
/// the value being parsed, so the operator can find the bad byte in a capture.
public struct RESPParsingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public enum Reason: Sendable, Equatable {
        case unknownType(UInt8)
        case malformedLength
        case malformedInteger
        case malformedDouble
        case malformedBoolean
        case missingCRLF
        case bulkTooLong(Int, limit: Int)
        case aggregateTooLong(Int, limit: Int)
        case tooDeep(limit: Int)
    }

    public let reason: Reason
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .unknownType(let b): what = "unknown type byte 0x\(String(b, radix: 16))"
        case .malformedLength: what = "malformed length"
        case .malformedInteger: what = "malformed integer"
        case .malformedDouble: what = "malformed double"
        case .malformedBoolean: what = "malformed boolean (expected t or f)"
        case .missingCRLF: what = "expected CRLF"
        case .bulkTooLong(let n, let limit): what = "bulk length \(n) over the limit \(limit)"
        case .aggregateTooLong(let n, let limit): what = "aggregate length \(n) over the limit \(limit)"
        case .tooDeep(let limit): what = "nesting deeper than \(limit)"
        }
        return "RESP protocol error at offset \(offset): \(what)"
    }
}

/// Bounds applied while validating; defaults match Redis's own.
public struct RESPLimits: Sendable, Equatable {
    /// Longest bulk/verbatim/blob-error payload (Redis: proto-max-bulk-len, 512 MiB).
    public var maxBulkLength: Int
    /// Most elements in one aggregate (2^31 - 1).
    public var maxAggregateLength: Int
    /// Deepest nesting of aggregates.
    public var maxDepth: Int

    /// Creates limits; the defaults match Redis.
    public init(maxBulkLength: Int = 512 << 20, maxAggregateLength: Int = Int(Int32.max), maxDepth: Int = 64) {
        self.maxBulkLength = maxBulkLength
        self.maxAggregateLength = maxAggregateLength
        self.maxDepth = maxDepth
    }
}

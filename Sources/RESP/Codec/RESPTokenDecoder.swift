public import NIOCore

/// Frames a byte stream into ``RESPToken``s; a protocol error is thrown
/// into the pipeline (the connection that saw it is closed by its owner).
public struct RESPTokenDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPToken
    /// Limits applied to every value.
    public let limits: RESPLimits
    /// Where validation of a partly received value stopped.
    private var progress = RESPParseProgress()

    /// Creates a decoder with the given limits (Redis's by default).
    public init(limits: RESPLimits = .init()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPToken? {
        try RESPToken.parse(from: &buffer, limits: limits, progress: &progress)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPToken? {
        try decode(buffer: &buffer)
    }
}

import CTestSupport
import NIOCore

/// FNV-1a 64-bit running checksum of a byte stream.
public struct Checksum: Equatable, Sendable, CustomStringConvertible {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public private(set) var count = 0

    public init() {}

    public mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update($0) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        value = nscore_fnv1a(value, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        count += bytes.count
    }

    public var description: String { "\(count) bytes, fnv1a \(String(value, radix: 16))" }
}

/// Deterministic test payload: `length` bytes of a pattern that differs per offset and seed.
public struct Pattern: Sendable {
    public let length: Int
    public let seed: UInt8

    public init(length: Int, seed: UInt8 = 0) {
        self.length = length
        self.seed = seed
    }

    /// The bytes in `range` of the pattern.
    public func chunk(_ range: Range<Int>, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: range.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: range.count) { ptr in
            nscore_pattern_fill(ptr.baseAddress!.assumingMemoryBound(to: UInt8.self), range.lowerBound, range.count, seed)
            return range.count
        }
        return buffer
    }

    /// Checksum of the whole pattern.
    public var checksum: Checksum {
        var c = Checksum()
        var offset = 0
        while offset < length {
            let end = min(length, offset + 1 << 20)
            c.update(chunk(offset..<end))
            offset = end
        }
        return c
    }
}

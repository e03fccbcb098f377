public import NIOCore

/// Walks a message body as its bytes arrive, without copying or decoding
/// them: each step says how many bytes at an offset are body data and how
/// many are chunked framing, so a proxy can forward the bytes as they came
/// (framing and all) or only the data. Chunk sizes, extensions and trailers
/// are checked and bounded.
public struct BodyReader: Sendable {
    /// What the bytes at the offset given to ``next(in:at:)`` are.
    public enum Step: Equatable, Sendable {
        /// This many bytes of body data.
        case data(Int)
        /// This many bytes of chunked framing (size lines, CRLFs, trailers).
        case framing(Int)
        /// The body is not complete and every byte given was accounted for.
        case needMore
        /// The body is complete; bytes after it belong to the next message.
        case done
    }

    private enum State: Sendable {
        case length(Int64)
        case untilClose
        case chunkSize(digits: Int, size: Int64)
        case chunkExtension(size: Int64)
        case chunkSizeLF(size: Int64)
        case chunkData(Int64)
        case chunkDataCR
        case chunkDataLF
        case trailerLineStart
        case trailerLine
        case trailerLF
        case finalLF
        case done
    }

    /// Longest chunk extension and total trailer section accepted.
    public static let maxExtensionBytes = 4096, maxTrailerBytes = 16 * 1024

    private var state: State
    private var extraBytes = 0

    public init(_ framing: BodyFraming) {
        switch framing {
        case .none, .length(0): state = .done
        case .length(let n): state = .length(n)
        case .chunked: state = .chunkSize(digits: 0, size: 0)
        case .untilClose: state = .untilClose
        }
    }

    /// Whether the whole body has been walked.
    public var isDone: Bool { if case .done = state { true } else { false } }

    /// Whether the body ends only with the connection.
    public var endsWithConnection: Bool { if case .untilClose = state { true } else { false } }

    /// The next step for the bytes of `buffer` from `offset` (relative to its reader index).
    public mutating func next(in buffer: ByteBuffer, at offset: Int) throws(HTTPWireError) -> Step {
        let available = buffer.readableBytes - offset
        switch state {
        case .done: return .done
        case .untilClose: return available > 0 ? .data(available) : .needMore
        case .length(let left):
            guard available > 0 else { return .needMore }
            let n = Int(min(left, Int64(available)))
            state = left == Int64(n) ? .done : .length(left - Int64(n))
            return .data(n)
        case .chunkData(let left):
            guard available > 0 else { return .needMore }
            let n = Int(min(left, Int64(available)))
            state = left == Int64(n) ? .chunkDataCR : .chunkData(left - Int64(n))
            return .data(n)
        default:
            let result: Result<Step, HTTPWireError> = buffer.withUnsafeReadableBytes { raw in
                do throws(HTTPWireError) { return .success(try framing(raw, from: offset)) } catch { return .failure(error) }
            }
            return try result.get()
        }
    }

    /// Consumes framing bytes from `from` until data, the end, or the end of `raw`.
    private mutating func framing(_ raw: UnsafeRawBufferPointer, from: Int) throws(HTTPWireError) -> Step {
        var i = from
        while i < raw.count {
            let c = raw[i]
            switch state {
            case .chunkSize(let digits, let size):
                if let v = Self.hexValue(c) {
                    guard digits < 15 else { throw .badChunk("chunk size too large") }
                    state = .chunkSize(digits: digits + 1, size: size << 4 | Int64(v))
                } else if digits > 0, c == 0x0D {
                    state = .chunkSizeLF(size: size)
                } else if digits > 0, c == 0x3B || c == 0x20 || c == 0x09 {
                    extraBytes = 0
                    state = .chunkExtension(size: size)
                } else {
                    throw .badChunk("chunk size line")
                }
            case .chunkExtension(let size):
                if c == 0x0D {
                    state = .chunkSizeLF(size: size)
                } else {
                    extraBytes += 1
                    guard c != 0x0A, extraBytes <= Self.maxExtensionBytes else { throw .badChunk("chunk extension") }
                }
            case .chunkSizeLF(let size):
                guard c == 0x0A else { throw .badChunk("CR without LF after the chunk size") }
                if size == 0 {
                    extraBytes = 0
                    state = .trailerLineStart
                } else {
                    state = .chunkData(size)
                    return .framing(i + 1 - from)
                }
            case .chunkDataCR:
                guard c == 0x0D else { throw .badChunk("no CRLF after the chunk data") }
                state = .chunkDataLF
            case .chunkDataLF:
                guard c == 0x0A else { throw .badChunk("no CRLF after the chunk data") }
                state = .chunkSize(digits: 0, size: 0)
            case .trailerLineStart:
                state = c == 0x0D ? .finalLF : .trailerLine
                if c != 0x0D { try countTrailer(c) }
            case .trailerLine:
                if c == 0x0D { state = .trailerLF } else { try countTrailer(c) }
            case .trailerLF:
                guard c == 0x0A else { throw .badChunk("CR without LF in the trailers") }
                state = .trailerLineStart
            case .finalLF:
                guard c == 0x0A else { throw .badChunk("CR without LF at the end") }
                state = .done
                return .framing(i + 1 - from)
            case .length, .untilClose, .chunkData, .done:
                preconditionFailure("not a framing state")
            }
            i += 1
        }
        return i > from ? .framing(i - from) : .needMore
    }

    private mutating func countTrailer(_ c: UInt8) throws(HTTPWireError) {
        extraBytes += 1
        guard c != 0x0A, extraBytes <= Self.maxTrailerBytes else { throw .badChunk("trailer section") }
    }

    @inline(__always) private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x37
        case 0x61...0x66: c - 0x57
        default: nil
        }
    }
}

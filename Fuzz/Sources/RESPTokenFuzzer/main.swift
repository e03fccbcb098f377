#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import FuzzDriver
import RESP

/// libFuzzer entry: parse the input as a stream of RESP values with small
/// limits, decoding every token fully, twice: in one piece, and fed in
/// chunks (sizes taken from the first input byte) through one decoder, so
/// that resumed validation is checked against one-shot validation. Any
/// crash, hang, sanitizer report or disagreement is a bug; typed errors are
/// the expected outcome for garbage.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let limits = RESPLimits(maxBulkLength: 1 << 16, maxAggregateLength: 1 << 12, maxDepth: 32)
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let whole = decodeAll(chunks: [bytes[...]], limits: limits)
    let step = 1 + Int(size > 0 ? bytes[0] % 17 : 1)
    let pieces = stride(from: 0, to: size, by: step).map { bytes[$0..<min($0 + step, size)] }
    let chunked = decodeAll(chunks: pieces, limits: limits)
    if whole != chunked {
        fatalError("one-shot and chunked decoding disagree: \(whole) vs \(chunked)")
    }
    return 0
}

/// Every token's bytes, then the error (if any), feeding `chunks` in order.
func decodeAll(chunks: [Slice<UnsafeBufferPointer<UInt8>>], limits: RESPLimits) -> [String] {
    var decoder = RESPTokenDecoder(limits: limits)
    var buffer = ByteBuffer()
    var out: [String] = []
    for chunk in chunks {
        buffer.writeBytes(UnsafeBufferPointer(rebasing: chunk))
        while true {
            do {
                guard let token = try decoder.decode(buffer: &buffer) else { break }
                _ = token.value
                out.append(String(decoding: token.base.readableBytesView, as: UTF8.self))
            } catch {
                out.append("error: \(error)")
                return out
            }
        }
    }
    return out
}

runFuzzer { data, size in fuzz(data, size) }

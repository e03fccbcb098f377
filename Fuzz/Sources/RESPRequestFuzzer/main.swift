#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import NIOCore
import RESP

/// libFuzzer entry: client bytes for the resp-proxy's request decoder, once
/// whole and once in chunks of a size taken from the first byte; both must
/// give the same requests (or the same error). Crashes, hangs and sanitizer
/// reports are bugs; RESPRequestError for garbage is the expected outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 16) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let limits = RESPRequestLimits(maxRequestBytes: 1 << 16, maxBulkLength: 1 << 15, maxArguments: 1024, maxInlineLength: 512)
    func run(_ pieces: [ArraySlice<UInt8>]) -> ([[ByteBuffer]], String?) {
        var decoder = RESPRequestDecoder(limits: limits)
        var buffer = ByteBuffer()
        var out: [[ByteBuffer]] = []
        for piece in pieces {
            buffer.writeBytes(piece)
            do {
                while let request = try decoder.decode(buffer: &buffer) { out.append(request.arguments) }
            } catch {
                return (out, "\(error)")
            }
        }
        return (out, nil)
    }
    let whole = run([bytes[...]])
    let split = run(stride(from: 0, to: bytes.count, by: chunk).map { bytes[$0..<min(bytes.count, $0 + chunk)] })
    guard whole.0 == split.0, whole.1 == split.1 else {
        fatalError("whole and chunked (\(chunk)) decoding disagree: \(whole) vs \(split)")
    }
    return 0
}

runFuzzer { data, size in fuzz(data, size) }

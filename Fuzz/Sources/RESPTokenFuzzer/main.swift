#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import RESP

/// libFuzzer entry: parse the input as a stream of RESP values with small
/// limits, decoding every token fully. Any crash, hang or sanitizer report
/// is a bug; typed errors are the expected outcome for garbage.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let limits = RESPLimits(maxBulkLength: 1 << 16, maxAggregateLength: 1 << 12, maxDepth: 32)
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    var decoder = RESPTokenDecoder(limits: limits)
    while true {
        do {
            guard let token = try decoder.decode(buffer: &buffer) else { break }
            _ = token.value
        } catch {
            break
        }
    }
    return 0
}

// SwiftPM links its own main for an executable; hand control to libFuzzer's
// driver (exported by the -sanitize=fuzzer runtime) with our entry point.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzz(data, size) }))

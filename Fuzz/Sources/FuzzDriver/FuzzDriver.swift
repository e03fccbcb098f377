#if canImport(Glibc)
import Glibc
#endif

// SwiftPM links its own main for an executable; each fuzzer's main hands
// control to libFuzzer's driver (exported by the -sanitize=fuzzer runtime)
// with its entry point.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Runs libFuzzer with `entry` (a `@convention(c)` function) and exits with its status.
public func runFuzzer(_ entry: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, entry))
}

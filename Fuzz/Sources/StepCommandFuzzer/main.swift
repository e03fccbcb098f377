#if canImport(Glibc)
import Glibc
#endif
import Agents
import FuzzDriver

/// libFuzzer entry: each input line is a command-pipe line. Parsing must
/// never crash; a refusal is the expected outcome for garbage, and what
/// parses has values in the protocol's ranges.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        switch try? StepCommand.parse(line) {
        case .setProgress(let p)?: precondition((0...100).contains(p), "progress \(p) out of range")
        case .setWeight(_, let w)?: precondition(w >= 0, "negative weight \(w)")
        default: break
        }
    }
    return 0
}

runFuzzer { data, size in fuzz(data, size) }

#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import JSON

/// libFuzzer entry: parse the input as JSON with a small depth limit; what
/// parses must serialize to text that parses back to an equal value, and
/// masking must keep the shape. Crashes, hangs, sanitizer reports and
/// disagreements are bugs; JSONParseError is the expected outcome for garbage.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let value = try? JSONValue.parse(text, maxDepth: 64) else { return 0 }
    guard let again = try? JSONValue.parse(value.serialized, maxDepth: 64), again == value else {
        fatalError("serialized form does not parse back equal: \(value.serialized)")
    }
    _ = value.maskingSecrets.serialized
    return 0
}

runFuzzer { data, size in fuzz(data, size) }

import FuzzDriver
import Secrets

/// One fixed key pair: fuzzed input is opened with it.
let keys = try! KeyPair(secretKey: Array(repeating: 7, count: 32))

/// libFuzzer entry: bytes as a `sealed:v1:` value and as base64 text.
/// Opening must throw or give bytes (never crash); whatever base64 decodes
/// must encode and decode back to the same bytes; a box sealed from the
/// decoded bytes must open to them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? SealedValue.open(text, with: keys)
    _ = try? SealedValue.open(SealedValue.prefix + text, with: keys)
    if let bytes = Base64.decode(text) {
        guard Base64.decode(Base64.encode(bytes)) == bytes else { fatalError("base64 round trip lost bytes of \(text.debugDescription)") }
        guard let box = try? SealedBox.seal(bytes, to: keys.publicKey), (try? SealedBox.open(box, with: keys)) == bytes else {
            fatalError("seal/open round trip failed for \(bytes.count) bytes")
        }
    }
    return 0
}
runFuzzer(fuzz)

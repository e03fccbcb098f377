#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import LDAPProxy
import NIOCore

/// libFuzzer entry: bytes for the LDAP proxy's LDAPMessage framer, once
/// whole and once in chunks of a size taken from the first byte; both must
/// give the same messages (or the same error), and reading each message's
/// result code, bind DN, extended name and abandoned id must not crash.
/// LDAPFramingError for garbage is the expected outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 16) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    func run(_ pieces: [ArraySlice<UInt8>]) -> ([LDAPMessageFrame], String?) {
        var buffer = ByteBuffer()
        var out: [LDAPMessageFrame] = []
        for piece in pieces {
            buffer.writeBytes(piece)
            do {
                while let frame = try LDAPMessageFrame.parse(from: &buffer, limit: 1 << 16) {
                    _ = (frame.resultCode, frame.bindDN, frame.extendedName, frame.abandonedID)
                    out.append(frame)
                }
            } catch {
                return (out, "\(error)")
            }
        }
        return (out, nil)
    }
    let whole = run([bytes[...]])
    let split = run(stride(from: 0, to: bytes.count, by: chunk).map { bytes[$0..<min(bytes.count, $0 + chunk)] })
    guard whole.0 == split.0, whole.1 == split.1 else {
        fatalError("whole and chunked (\(chunk)) framing disagree: \(whole) vs \(split)")
    }
    return 0
}

runFuzzer { data, size in fuzz(data, size) }

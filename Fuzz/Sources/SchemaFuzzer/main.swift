#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import JSON
import JSONSchema

/// libFuzzer entry: the input is `SCHEMA\nINSTANCE`; a schema that compiles
/// is applied to the instance (and to a few fixed ones). Crashes, hangs and
/// sanitizer reports are bugs; JSONSchemaError for a bad schema is expected.
/// `validate` and `isValid` must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    guard let schemaJSON = try? JSONValue.parse(String(parts[0]), maxDepth: 32),
          let schema = try? JSONSchema(schemaJSON) else { return 0 }
    var instances: [JSONValue] = [.null, .bool(true), .number(3), .string("a@b.c"), .array([.number(1)]), .object([("a", .number(1))])]
    if parts.count > 1, let instance = try? JSONValue.parse(String(parts[1]), maxDepth: 32) { instances.append(instance) }
    for instance in instances where schema.validate(instance).isEmpty != schema.isValid(instance) {
        fatalError("validate and isValid disagree on \(instance.serialized) for \(schemaJSON.serialized)")
    }
    return 0
}

runFuzzer { data, size in fuzz(data, size) }

public import JSON
public import JSONSchema

/// `validate-input.json` / `validate-output.json`: a schema file checked
/// against the task data or output, with `$AGENT_INSTALL_DIR/validator-definitions.json`
/// as extra definitions `$ref` may point into.
public enum ActionValidation {
    /// Why a schema could not be applied (aborted, exit code 1).
    public struct Fault: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The violations of `instance` against the schema in `schemaPath` (empty: valid).
    public static func check(_ instance: JSONValue, schemaPath: String, installDirectory: String?) throws(Fault) -> [JSONSchemaViolation] {
        let schemaText: String
        switch FileSystem.readText(schemaPath) {
        case .success(let text): schemaText = text
        case .failure(let error): throw Fault(reason: "\(error)")
        }
        let schemaJSON: JSONValue
        do { schemaJSON = try JSONValue.parse(schemaText) } catch { throw Fault(reason: "\(schemaPath): \(error)") }
        var definitions: [JSONValue] = []
        if let dir = installDirectory, case .success(let text) = FileSystem.readText(dir + "/validator-definitions.json") {
            do { definitions.append(try JSONValue.parse(text)) } catch {
                throw Fault(reason: "\(dir)/validator-definitions.json: \(error)")
            }
        }
        do {
            return try JSONSchema(schemaJSON, definitions: definitions).validate(instance)
        } catch {
            throw Fault(reason: "\(schemaPath): \(error)")
        }
    }

    /// The task output for input violations: `[{"parameter","error","value","field"}]`.
    public static func errorArray(_ violations: [JSONSchemaViolation]) -> JSONValue {
        .array(violations.map { v in
            let field = v.field
            let parameter = field.split(separator: ".", maxSplits: 1).first.map(String.init) ?? field
            // The value goes to Redis: secrets in it are masked like the task context.
            let last = (field.split(separator: ".").last.map(String.init) ?? "").lowercased()
            let secret = JSONValue.secretNameSuffixes.contains { last.hasSuffix($0) } && v.property == nil
            return .object([("parameter", .string(parameter)), ("error", .string(parameter + "_" + v.type)),
                            ("value", secret ? .string("XXX") : v.value.maskingSecrets), ("field", .string(field))])
        })
    }

    /// `Validation errors: [field: message field: message]`, the task error text.
    public static func summary(_ violations: [JSONSchemaViolation]) -> String {
        "Validation errors: [" + violations.map(\.description).joined(separator: " ") + "]"
    }
}

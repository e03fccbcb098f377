/// Why a schema cannot be used. Each case names the schema location
/// (`resource-uri#pointer`) so the schema's author can find the mistake.
public enum JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A keyword has a value of the wrong kind (e.g. `"minLength": "3"`).
    case invalidKeyword(location: String, keyword: String, reason: String)
    /// A `$ref`/`$dynamicRef` names nothing that was loaded.
    case unresolvedReference(location: String, reference: String)
    /// A `pattern` or `patternProperties` name is not a regular expression.
    case invalidPattern(location: String, pattern: String)
    /// A schema is neither an object nor a boolean.
    case notASchema(location: String)

    public var description: String {
        switch self {
        case .invalidKeyword(let location, let keyword, let reason):
            "invalid schema at \(location): \(keyword) \(reason)"
        case .unresolvedReference(let location, let reference):
            "invalid schema at \(location): cannot resolve $ref \"\(reference)\" (remote references are not fetched; load the document as a definition)"
        case .invalidPattern(let location, let pattern):
            "invalid schema at \(location): \"\(pattern)\" is not a valid regular expression"
        case .notASchema(let location):
            "invalid schema at \(location): a schema must be an object or a boolean"
        }
    }
}

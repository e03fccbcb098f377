public import JSON

/// A compiled JSON Schema (draft 2020-12 or draft-07) that validates
/// ``JSONValue`` instances.
///
/// ```swift
/// let schema = try JSONSchema(JSONValue.parse(#"{"type": "object", "required": ["name"]}"#))
/// let problems = schema.validate(try JSONValue.parse("{}"))   // [name: name is required]
/// ```
///
/// References (`$ref`, `$dynamicRef`) resolve within the schema, the extra
/// `definitions` documents (by their `$id`) and the bundled meta-schemas;
/// nothing is fetched from the network. Formats are asserted by default
/// (see ``JSONSchemaFormat``).
public struct JSONSchema: Sendable {
    private let compiled: CompiledSchema
    private let root: Int
    /// Whether `format` is checked (true) or only an annotation.
    public let assertsFormats: Bool

    /// Compiles `schema`.
    /// - Parameters:
    ///   - definitions: further documents `$ref` may point into (e.g. the
    ///     platform's `validator-definitions.json`), found by their `$id`.
    ///   - defaultDraft: the draft of documents without `$schema`.
    ///   - assertFormats: check `format` values (false: annotation only).
    /// - Throws: ``JSONSchemaError`` for a schema that cannot be used.
    public init(_ schema: JSONValue, definitions: [JSONValue] = [], defaultDraft: JSONSchemaDraft = .draft7,
                assertFormats: Bool = true) throws(JSONSchemaError) {
        var index = SchemaIndex()
        let rootEntry = index.add(document: schema, uri: "urn:nscore:schema", defaultDraft: defaultDraft)
        for (i, document) in definitions.enumerated() {
            index.add(document: document, uri: "urn:nscore:definitions:\(i)", defaultDraft: defaultDraft)
        }
        for document in JSONSchemaRegistry.metaschemas {
            index.add(document: document, uri: "urn:nscore:metaschema", defaultDraft: .draft2020_12)
        }
        var compiler = SchemaCompiler(index: index)
        root = try compiler.compile(rootEntry)
        compiled = compiler.compiled
        assertsFormats = assertFormats
    }

    /// Every violation found (at most about a hundred), in schema order; empty when valid.
    public func validate(_ instance: JSONValue) -> [JSONSchemaViolation] {
        var evaluator = Evaluator(schema: compiled, assertFormats: assertsFormats)
        let outcome = evaluator.evaluate(root, instance, [], collect: true)
        return outcome.valid ? [] : outcome.violations
    }

    /// True when `instance` matches (stops at the first failure).
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = Evaluator(schema: compiled, assertFormats: assertsFormats)
        return evaluator.evaluate(root, instance, [], collect: false).valid
    }
}

/// The documents every validator knows without loading them.
enum JSONSchemaRegistry {
    /// The parsed meta-schemas (draft-07, draft 2020-12 and its vocabularies).
    static let metaschemas: [JSONValue] = metaschemaDocuments.compactMap { try? JSONValue.parse($0) }
}

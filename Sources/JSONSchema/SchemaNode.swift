import JSON

/// JSON's six types plus JSON Schema's `integer`.
enum JSONType: String, Sendable {
    case null, boolean, object, array, number, string, integer

    /// True when `value` is of this type (`integer`: a number without fraction).
    func admits(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.null, .null), (.boolean, .bool), (.object, .object), (.array, .array), (.number, .number), (.string, .string):
            return true
        case (.integer, .number):
            return value.isInteger
        default:
            return false
        }
    }
}

/// One compiled keyword. Subschemas are indices into ``CompiledSchema/nodes``.
enum Keyword: Sendable {
    case ref(Int)
    /// `$dynamicRef`: the statically resolved target, and the anchor name to
    /// look up in the dynamic scope when the target is a `$dynamicAnchor` of that name.
    case dynamicRef(Int, anchor: String?)
    case type([JSONType])
    case enumeration([JSONValue])
    case constant(JSONValue)
    case multipleOf(Double)
    case maximum(Double), exclusiveMaximum(Double), minimum(Double), exclusiveMinimum(Double)
    case maxLength(Int), minLength(Int)
    case pattern(ECMARegex)
    case format(String)
    case maxItems(Int), minItems(Int), uniqueItems
    case contains(Int, min: Int, max: Int?)
    case maxProperties(Int), minProperties(Int)
    case required([String])
    case dependentRequired([(name: String, requires: [String])])
    case dependentSchemas([(name: String, schema: Int)])
    case properties([(name: String, schema: Int)])
    case patternProperties([(regex: ECMARegex, schema: Int)])
    /// `additionalProperties`, with the names and patterns of its siblings.
    case additionalProperties(Int, known: Set<String>, patterns: [ECMARegex])
    case propertyNames(Int)
    case prefixItems([Int])
    /// `items` (2020-12) or draft 7's single-schema `items`/`additionalItems`: every element from `start` on.
    case items(Int, start: Int)
    case allOf([Int]), anyOf([Int]), oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case unevaluatedProperties(Int)
    case unevaluatedItems(Int)
}

/// A compiled schema: a boolean schema or a list of keywords.
struct SchemaNode: Sendable {
    /// Canonical location (`resource-uri#pointer`), for messages.
    var location: String
    /// The resource this schema belongs to, and whether it starts it (dynamic scope).
    var resource: String
    var isResourceRoot: Bool
    /// Set for `true`/`false` schemas.
    var constant: Bool?
    /// Keywords in evaluation order (`unevaluated*` last).
    var keywords: [Keyword]
}

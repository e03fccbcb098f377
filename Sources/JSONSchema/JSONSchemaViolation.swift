public import JSON

/// One step into a JSON instance: an object member or an array element.
public enum JSONPathComponent: Sendable, Equatable, Hashable {
    case name(String)
    case index(Int)
}

/// One reason an instance does not match its schema.
public struct JSONSchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// Where in the instance (empty: the whole instance).
    public var path: [JSONPathComponent]
    /// The keyword that failed (`required`, `type`, `pattern`…).
    public var keyword: String
    /// What is wrong, for people.
    public var message: String
    /// The instance value at ``path``.
    public var value: JSONValue
    /// For `required`, `dependentRequired` and `additionalProperties`: the property concerned.
    public var property: String?

    /// The location in the platform's dotted form: `(root)` for the whole
    /// instance, else `name`, `name.0.host`…; a missing or extra property
    /// is named itself (`user.email`).
    public var field: String {
        var parts = path.map { c -> String in
            switch c {
            case .name(let n): n
            case .index(let i): String(i)
            }
        }
        if let property { parts.append(property) }
        return parts.isEmpty ? "(root)" : parts.joined(separator: ".")
    }

    /// The error type in the platform's vocabulary (`required`,
    /// `invalid_type`, `string_gte`, `number_one_of`…).
    public var type: String {
        switch keyword {
        case "type": "invalid_type"
        case "minLength": "string_gte"
        case "maxLength": "string_lte"
        case "minimum": "number_gte"
        case "exclusiveMinimum": "number_gt"
        case "maximum": "number_lte"
        case "exclusiveMaximum": "number_lt"
        case "multipleOf": "multiple_of"
        case "minItems": "array_min_items"
        case "maxItems": "array_max_items"
        case "uniqueItems": "unique"
        case "minProperties": "array_min_properties"
        case "maxProperties": "array_max_properties"
        case "additionalProperties": "additional_property_not_allowed"
        case "additionalItems": "array_no_additional_items"
        case "propertyNames": "invalid_property_name"
        case "dependentRequired", "dependencies": "missing_dependency"
        case "anyOf": "number_any_of"
        case "oneOf": "number_one_of"
        case "not": "number_not"
        case "then": "condition_then"
        case "else": "condition_else"
        case "unevaluatedProperties": "unevaluated_property_not_allowed"
        case "unevaluatedItems": "unevaluated_item_not_allowed"
        default: keyword
        }
    }

    public var description: String { "\(field): \(message)" }
}

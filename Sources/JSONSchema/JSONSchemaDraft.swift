import JSON

/// The JSON Schema dialects the validator understands.
public enum JSONSchemaDraft: String, Sendable, CaseIterable {
    /// Draft 7 (`http://json-schema.org/draft-07/schema#`): `$ref` alone, `items` arrays, `dependencies`.
    case draft7 = "http://json-schema.org/draft-07/schema"
    /// Draft 2020-12 (`https://json-schema.org/draft/2020-12/schema`): `$defs`, `prefixItems`, `$dynamicRef`, `unevaluated*`.
    case draft2020_12 = "https://json-schema.org/draft/2020-12/schema"

    /// The draft a `$schema` value names, or nil for an unknown one.
    public init?(schemaURI: String) {
        let uri = schemaURI.hasSuffix("#") ? String(schemaURI.dropLast()) : schemaURI
        switch uri {
        case "http://json-schema.org/draft-07/schema", "https://json-schema.org/draft-07/schema": self = .draft7
        case "https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft/2020-12/schema": self = .draft2020_12
        default: return nil
        }
    }

    /// How a keyword holds subschemas, for walking a schema.
    enum Holder { case single, map, array, singleOrArray }

    /// The keywords of this draft whose values are (or hold) subschemas.
    func holder(of keyword: String) -> Holder? {
        switch keyword {
        case "not", "if", "then", "else", "additionalProperties", "contains", "propertyNames":
            return .single
        case "properties", "patternProperties", "definitions":
            return .map
        case "allOf", "anyOf", "oneOf":
            return .array
        default:
            break
        }
        switch self {
        case .draft7:
            switch keyword {
            case "items": return .singleOrArray
            case "additionalItems": return .single
            case "dependencies": return .map  // members that are arrays are skipped by the walker
            default: return nil
            }
        case .draft2020_12:
            switch keyword {
            case "items", "unevaluatedItems", "unevaluatedProperties", "contentSchema": return .single
            case "$defs", "dependentSchemas": return .map
            case "prefixItems": return .array
            default: return nil
            }
        }
    }

    /// The `$id` of a schema object that starts a new resource (draft 7
    /// ignores `$id` beside `$ref`, and `#name` ids are anchors there).
    func resourceID(of schema: JSONValue) -> String? {
        guard case .string(let id) = schema["$id"] ?? .null else { return nil }
        if self == .draft7 {
            if schema["$ref"] != nil || id.hasPrefix("#") { return nil }
        }
        return id
    }

    /// Plain-name anchors a schema object declares (`$anchor`, draft 7's `$id: "#name"`).
    func anchors(of schema: JSONValue) -> [String] {
        switch self {
        case .draft7:
            if schema["$ref"] == nil, case .string(let id) = schema["$id"] ?? .null, id.hasPrefix("#"), id.count > 1 {
                return [String(id.dropFirst())]
            }
            return []
        case .draft2020_12:
            var names: [String] = []
            if case .string(let a) = schema["$anchor"] ?? .null { names.append(a) }
            if case .string(let a) = schema["$dynamicAnchor"] ?? .null { names.append(a) }
            return names
        }
    }

    /// The subschemas directly under `schema`, each with its pointer tokens.
    func children(of schema: JSONValue) -> [(tokens: [String], schema: JSONValue)] {
        guard case .object(let members) = schema else { return [] }
        if self == .draft7, schema["$ref"] != nil {
            // Draft 7 ignores $ref's siblings; definitions beside it stay reachable.
            return mapChildren(members.filter { $0.name == "definitions" })
        }
        var out: [(tokens: [String], schema: JSONValue)] = []
        for (name, value) in members {
            switch holder(of: name) {
            case .single?:
                out.append(([name], value))
            case .singleOrArray?:
                if case .array(let items) = value {
                    for (i, item) in items.enumerated() { out.append(([name, String(i)], item)) }
                } else {
                    out.append(([name], value))
                }
            case .array?:
                if case .array(let items) = value {
                    for (i, item) in items.enumerated() { out.append(([name, String(i)], item)) }
                }
            case .map?:
                out += mapChildren([(name, value)])
            case nil:
                break
            }
        }
        return out
    }

    private func mapChildren(_ members: [(name: String, value: JSONValue)]) -> [(tokens: [String], schema: JSONValue)] {
        var out: [(tokens: [String], schema: JSONValue)] = []
        for (name, value) in members {
            guard case .object(let entries) = value else { continue }
            for (key, sub) in entries {
                if case .array = sub { continue }  // draft 7 property dependencies
                out.append(([name, key], sub))
            }
        }
        return out
    }
}

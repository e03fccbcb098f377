import JSON

/// Compiled schemas of one validator: nodes by index, and the dynamic
/// anchors `$dynamicRef` may jump to (name → resource → node).
struct CompiledSchema: Sendable {
    var nodes: [SchemaNode] = []
    var dynamicAnchors: [String: [String: Int]] = [:]
}

/// Turns indexed schema JSON into ``SchemaNode``s, resolving every
/// reference once; cycles through `$ref` share nodes.
struct SchemaCompiler {
    let index: SchemaIndex
    var compiled = CompiledSchema()
    private var memo: [String: Int] = [:]

    init(index: SchemaIndex) {
        self.index = index
    }

    /// Compiles `entry` (and everything it reaches); returns its node index.
    mutating func compile(_ entry: SchemaEntry) throws(JSONSchemaError) -> Int {
        if let done = memo[entry.key] { return done }
        let id = compiled.nodes.count
        memo[entry.key] = id
        compiled.nodes.append(SchemaNode(location: entry.key, resource: entry.base.text,
                                         isResourceRoot: entry.isResourceRoot, constant: nil, keywords: []))
        switch entry.value {
        case .bool(let b):
            compiled.nodes[id].constant = b
        case .object:
            compiled.nodes[id].keywords = try keywords(of: entry)
        default:
            throw .notASchema(location: entry.key)
        }
        return id
    }

    private mutating func sub(_ entry: SchemaEntry, _ tokens: String...) throws(JSONSchemaError) -> Int {
        var value = entry.value
        for t in tokens {
            if case .array(let items) = value, let n = Int(t) { value = items[n] } else { value = value[t] ?? .null }
        }
        return try compile(SchemaIndex.child(of: entry, tokens: tokens, value: value))
    }

    private func invalid(_ entry: SchemaEntry, _ keyword: String, _ reason: String) -> JSONSchemaError {
        .invalidKeyword(location: entry.key, keyword: keyword, reason: reason)
    }

    private func number(_ entry: SchemaEntry, _ keyword: String) throws(JSONSchemaError) -> Double? {
        guard let v = entry.value[keyword] else { return nil }
        guard case .number(let d) = v else { throw invalid(entry, keyword, "must be a number") }
        return d
    }

    private func count(_ entry: SchemaEntry, _ keyword: String) throws(JSONSchemaError) -> Int? {
        guard let v = entry.value[keyword] else { return nil }
        guard case .number(let d) = v, v.isInteger, d >= 0, d < 1e15 else {
            throw invalid(entry, keyword, "must be a non-negative integer")
        }
        return Int(d)
    }

    private func regex(_ entry: SchemaEntry, _ pattern: String) throws(JSONSchemaError) -> ECMARegex {
        do { return try ECMARegex(pattern) } catch { throw .invalidPattern(location: entry.key, pattern: pattern) }
    }

    private func strings(_ entry: SchemaEntry, _ keyword: String, _ value: JSONValue) throws(JSONSchemaError) -> [String] {
        guard case .array(let items) = value else { throw invalid(entry, keyword, "must be an array of strings") }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw invalid(entry, keyword, "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    private mutating func schemaArray(_ entry: SchemaEntry, _ keyword: String) throws(JSONSchemaError) -> [Int] {
        guard case .array(let items) = entry.value[keyword] ?? .null else { throw invalid(entry, keyword, "must be an array of schemas") }
        var out: [Int] = []
        for i in items.indices { out.append(try sub(entry, keyword, String(i))) }
        return out
    }

    private mutating func schemaMap(_ entry: SchemaEntry, _ keyword: String) throws(JSONSchemaError) -> [(name: String, schema: Int)] {
        guard case .object(let members) = entry.value[keyword] ?? .null else { throw invalid(entry, keyword, "must be an object of schemas") }
        var out: [(name: String, schema: Int)] = []
        for m in members { out.append((m.name, try sub(entry, keyword, m.name))) }
        return out
    }

    private mutating func reference(_ entry: SchemaEntry, _ text: String) throws(JSONSchemaError) -> (Int, SchemaEntry) {
        guard let target = index.resolve(text, against: entry.base) else {
            throw .unresolvedReference(location: entry.key, reference: text)
        }
        return (try compile(target), target)
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    private mutating func keywords(of entry: SchemaEntry) throws(JSONSchemaError) -> [Keyword] {
        let s = entry.value
        let draft = entry.draft
        var out: [Keyword] = []
        var last: [Keyword] = []

        if case .string(let ref) = s["$ref"] ?? .null {
            out.append(.ref(try reference(entry, ref).0))
            if draft == .draft7 { return out }  // draft 7: $ref's siblings are ignored
        }
        if draft == .draft2020_12, case .string(let ref) = s["$dynamicRef"] ?? .null {
            let (target, targetEntry) = try reference(entry, ref)
            let fragment = URIReference(ref).fragment ?? ""
            var anchor: String?
            if !fragment.isEmpty, JSONPointer.tokens(fragment: fragment) == nil,
               case .string(let name) = targetEntry.value["$dynamicAnchor"] ?? .null, name == fragment {
                anchor = name
                for (resource, anchored) in index.dynamicAnchors where anchored[name] != nil {
                    compiled.dynamicAnchors[name, default: [:]][resource] = try compile(anchored[name]!)
                }
            }
            out.append(.dynamicRef(target, anchor: anchor))
        }
        if let t = s["type"] {
            let names: [String]
            if case .string(let one) = t { names = [one] } else { names = try strings(entry, "type", t) }
            var types: [JSONType] = []
            for n in names {
                guard let type = JSONType(rawValue: n) else { throw invalid(entry, "type", "names an unknown type \"\(n)\"") }
                types.append(type)
            }
            out.append(.type(types))
        }
        if let e = s["enum"] {
            guard case .array(let values) = e else { throw invalid(entry, "enum", "must be an array") }
            out.append(.enumeration(values))
        }
        if let c = s["const"] { out.append(.constant(c)) }
        if let d = try number(entry, "multipleOf") {
            guard d > 0 else { throw invalid(entry, "multipleOf", "must be greater than 0") }
            out.append(.multipleOf(d))
        }
        if let d = try number(entry, "maximum") { out.append(.maximum(d)) }
        if let d = try number(entry, "exclusiveMaximum") { out.append(.exclusiveMaximum(d)) }
        if let d = try number(entry, "minimum") { out.append(.minimum(d)) }
        if let d = try number(entry, "exclusiveMinimum") { out.append(.exclusiveMinimum(d)) }
        if let n = try count(entry, "maxLength") { out.append(.maxLength(n)) }
        if let n = try count(entry, "minLength") { out.append(.minLength(n)) }
        if let p = s["pattern"] {
            guard case .string(let text) = p else { throw invalid(entry, "pattern", "must be a string") }
            out.append(.pattern(try regex(entry, text)))
        }
        if case .string(let f) = s["format"] ?? .null { out.append(.format(f)) }
        if let n = try count(entry, "maxItems") { out.append(.maxItems(n)) }
        if let n = try count(entry, "minItems") { out.append(.minItems(n)) }
        if case .bool(true) = s["uniqueItems"] ?? .null { out.append(.uniqueItems) }
        if s["contains"] != nil {
            let min = draft == .draft2020_12 ? try count(entry, "minContains") ?? 1 : 1
            let max = draft == .draft2020_12 ? try count(entry, "maxContains") : nil
            out.append(.contains(try sub(entry, "contains"), min: min, max: max))
        }
        if let n = try count(entry, "maxProperties") { out.append(.maxProperties(n)) }
        if let n = try count(entry, "minProperties") { out.append(.minProperties(n)) }
        if let r = s["required"] { out.append(.required(try strings(entry, "required", r))) }
        try dependencies(entry, into: &out)
        try objectKeywords(entry, into: &out)
        try arrayKeywords(entry, into: &out)
        if s["allOf"] != nil { out.append(.allOf(try schemaArray(entry, "allOf"))) }
        if s["anyOf"] != nil { out.append(.anyOf(try schemaArray(entry, "anyOf"))) }
        if s["oneOf"] != nil { out.append(.oneOf(try schemaArray(entry, "oneOf"))) }
        if s["not"] != nil { out.append(.not(try sub(entry, "not"))) }
        if s["if"] != nil {
            out.append(.conditional(if: try sub(entry, "if"),
                                    then: s["then"] != nil ? try sub(entry, "then") : nil,
                                    else: s["else"] != nil ? try sub(entry, "else") : nil))
        }
        if draft == .draft2020_12 {
            if s["unevaluatedItems"] != nil { last.append(.unevaluatedItems(try sub(entry, "unevaluatedItems"))) }
            if s["unevaluatedProperties"] != nil { last.append(.unevaluatedProperties(try sub(entry, "unevaluatedProperties"))) }
        }
        return out + last
    }

    private mutating func dependencies(_ entry: SchemaEntry, into out: inout [Keyword]) throws(JSONSchemaError) {
        let s = entry.value
        var required: [(name: String, requires: [String])] = []
        var schemas: [(name: String, schema: Int)] = []
        let keyword = entry.draft == .draft7 ? "dependencies" : "dependentRequired"
        if case .object(let members) = s[keyword] ?? .null {
            for m in members {
                if case .array = m.value {
                    required.append((m.name, try strings(entry, keyword, m.value)))
                } else if entry.draft == .draft7 {
                    schemas.append((m.name, try sub(entry, keyword, m.name)))
                } else {
                    throw invalid(entry, keyword, "must map names to arrays of strings")
                }
            }
        } else if s[keyword] != nil {
            throw invalid(entry, keyword, "must be an object")
        }
        if entry.draft == .draft2020_12, s["dependentSchemas"] != nil {
            schemas += try schemaMap(entry, "dependentSchemas")
        }
        if !required.isEmpty { out.append(.dependentRequired(required)) }
        if !schemas.isEmpty { out.append(.dependentSchemas(schemas)) }
    }

    private mutating func objectKeywords(_ entry: SchemaEntry, into out: inout [Keyword]) throws(JSONSchemaError) {
        let s = entry.value
        var known = Set<String>()
        var patterns: [ECMARegex] = []
        if s["properties"] != nil {
            let props = try schemaMap(entry, "properties")
            known = Set(props.map(\.name))
            out.append(.properties(props))
        }
        if case .object(let members) = s["patternProperties"] ?? .null {
            var list: [(regex: ECMARegex, schema: Int)] = []
            for m in members {
                let r = try regex(entry, m.name)
                patterns.append(r)
                list.append((r, try sub(entry, "patternProperties", m.name)))
            }
            out.append(.patternProperties(list))
        }
        if s["additionalProperties"] != nil {
            out.append(.additionalProperties(try sub(entry, "additionalProperties"), known: known, patterns: patterns))
        }
        if s["propertyNames"] != nil { out.append(.propertyNames(try sub(entry, "propertyNames"))) }
    }

    private mutating func arrayKeywords(_ entry: SchemaEntry, into out: inout [Keyword]) throws(JSONSchemaError) {
        let s = entry.value
        var tuple = 0
        let tupleKeyword = entry.draft == .draft2020_12 ? "prefixItems" : "items"
        if case .array = s[tupleKeyword] ?? .null {
            let list = try schemaArray(entry, tupleKeyword)
            tuple = list.count
            out.append(.prefixItems(list))
        }
        switch entry.draft {
        case .draft7:
            if case .array = s["items"] ?? .null {
                if s["additionalItems"] != nil { out.append(.items(try sub(entry, "additionalItems"), start: tuple)) }
            } else if s["items"] != nil {
                out.append(.items(try sub(entry, "items"), start: 0))
            }
        case .draft2020_12:
            if case .array = s["items"] ?? .null {
                // Not valid 2020-12; read it the draft 7 way rather than refuse the schema.
                let list = try schemaArray(entry, "items")
                tuple = max(tuple, list.count)
                out.append(.prefixItems(list))
            } else if s["items"] != nil {
                out.append(.items(try sub(entry, "items"), start: tuple))
            }
        }
    }
}

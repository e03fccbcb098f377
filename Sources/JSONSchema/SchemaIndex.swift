import JSON

/// One schema as found in a document: its JSON, the base URI in effect,
/// its draft, and a canonical location (`resource-uri#pointer`) that names
/// it however it was reached.
struct SchemaEntry: Sendable {
    let value: JSONValue
    let base: URIReference
    let draft: JSONSchemaDraft
    let key: String
    /// True for a schema that starts a resource (`$id`, or a document root).
    let isResourceRoot: Bool
}

/// Every resource (`$id`), anchor and dynamic anchor of the loaded
/// documents, and `$ref` resolution over them.
struct SchemaIndex: Sendable {
    private(set) var resources: [String: SchemaEntry] = [:]
    private(set) var anchors: [String: SchemaEntry] = [:]
    /// Resource URI → dynamic anchor name → schema.
    private(set) var dynamicAnchors: [String: [String: SchemaEntry]] = [:]

    /// Indexes a document; `uri` is where it was retrieved from (its `$id` wins).
    /// - Returns: the document's root entry.
    @discardableResult
    mutating func add(document: JSONValue, uri: String, defaultDraft: JSONSchemaDraft) -> SchemaEntry {
        var draft = defaultDraft
        if case .string(let s) = document["$schema"] ?? .null, let d = JSONSchemaDraft(schemaURI: s) { draft = d }
        var base = URIReference(uri).withoutFragment
        if let id = draft.resourceID(of: document) { base = URIReference(id).resolved(against: base).withoutFragment }
        let root = SchemaEntry(value: document, base: base, draft: draft, key: base.text + "#", isResourceRoot: true)
        walk(root)
        return root
    }

    private mutating func walk(_ entry: SchemaEntry) {
        guard case .object = entry.value else { return }
        if entry.isResourceRoot, resources[entry.base.text] == nil { resources[entry.base.text] = entry }
        for name in entry.draft.anchors(of: entry.value) {
            let key = entry.base.text + "#" + name
            if anchors[key] == nil { anchors[key] = entry }
        }
        if entry.draft == .draft2020_12, case .string(let name) = entry.value["$dynamicAnchor"] ?? .null {
            if dynamicAnchors[entry.base.text]?[name] == nil { dynamicAnchors[entry.base.text, default: [:]][name] = entry }
        }
        for (tokens, child) in entry.draft.children(of: entry.value) {
            walk(Self.child(of: entry, tokens: tokens, value: child))
        }
    }

    /// The entry of a subschema found under `parent` at `tokens`.
    static func child(of parent: SchemaEntry, tokens: [String], value: JSONValue) -> SchemaEntry {
        var draft = parent.draft
        if case .string(let s) = value["$schema"] ?? .null, value["$id"] != nil, let d = JSONSchemaDraft(schemaURI: s) {
            draft = d
        }
        if let id = draft.resourceID(of: value) {
            let base = URIReference(id).resolved(against: parent.base).withoutFragment
            return SchemaEntry(value: value, base: base, draft: draft, key: base.text + "#", isResourceRoot: true)
        }
        let key = parent.key + "/" + tokens.map(JSONPointer.escape).joined(separator: "/")
        return SchemaEntry(value: value, base: parent.base, draft: draft, key: key, isResourceRoot: false)
    }

    /// The schema a `$ref` names, resolved against `base`; nil when unknown.
    func resolve(_ reference: String, against base: URIReference) -> SchemaEntry? {
        let target = URIReference(reference).resolved(against: base)
        let document = target.withoutFragment.text
        let fragment = target.fragment ?? ""
        if let tokens = JSONPointer.tokens(fragment: fragment) {
            guard let root = resources[document] else { return nil }
            return Self.navigate(from: root, tokens: tokens)
        }
        return anchors[document + "#" + JSONPointer.percentDecoded(fragment)]
    }

    /// Follows JSON Pointer tokens from a schema, keeping track of the base
    /// URI and canonical location of each subschema passed on the way.
    static func navigate(from start: SchemaEntry, tokens: [String]) -> SchemaEntry? {
        var current = start
        var i = 0
        while i < tokens.count {
            let keyword = tokens[i]
            guard let value = current.value[keyword] ?? arrayElement(current.value, keyword) else { return nil }
            var used = 1
            var target = value
            switch current.draft.holder(of: keyword) {
            case .single?:
                break
            case .map?, .array?, .singleOrArray?:
                if case .array(let items) = value {
                    guard i + 1 < tokens.count, let n = Int(tokens[i + 1]), n >= 0, n < items.count else {
                        return raw(from: current, tokens: Array(tokens[i...]))
                    }
                    target = items[n]
                    used = 2
                } else if case .object = value, current.draft.holder(of: keyword) != .singleOrArray {
                    guard i + 1 < tokens.count, let sub = value[tokens[i + 1]] else {
                        return raw(from: current, tokens: Array(tokens[i...]))
                    }
                    target = sub
                    used = 2
                }
            case nil:
                return raw(from: current, tokens: Array(tokens[i...]))
            }
            current = child(of: current, tokens: Array(tokens[i..<i + used]), value: target)
            i += used
        }
        return current
    }

    /// Plain JSON navigation below a schema (a `$ref` into an unknown keyword).
    private static func raw(from entry: SchemaEntry, tokens: [String]) -> SchemaEntry? {
        var value = entry.value
        for token in tokens {
            guard let next = value[token] ?? arrayElement(value, token) else { return nil }
            value = next
        }
        return child(of: entry, tokens: tokens, value: value)
    }

    private static func arrayElement(_ value: JSONValue, _ token: String) -> JSONValue? {
        guard case .array(let items) = value, let n = Int(token), n >= 0, n < items.count else { return nil }
        return items[n]
    }
}

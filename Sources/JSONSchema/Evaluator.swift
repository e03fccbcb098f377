import JSON

/// Which array elements some keyword of a schema has evaluated
/// (the annotations `unevaluatedItems` looks at).
struct EvaluatedItems {
    /// Every index below this was evaluated.
    var prefix = 0
    /// Further evaluated indices (`contains`).
    var indices: Set<Int> = []

    func contains(_ i: Int) -> Bool { i < prefix || indices.contains(i) }

    mutating func formUnion(_ other: EvaluatedItems) {
        prefix = max(prefix, other.prefix)
        indices.formUnion(other.indices)
    }
}

/// The result of applying one schema to one instance.
struct Outcome {
    var valid = true
    var violations: [JSONSchemaViolation] = []
    /// Annotations of valid evaluations, for `unevaluated*`.
    var properties: Set<String> = []
    var items = EvaluatedItems()

    /// Folds in an in-place subschema (same instance): validity, errors, annotations.
    mutating func merge(inPlace other: Outcome) {
        valid = valid && other.valid
        violations += other.violations
        if other.valid {
            properties.formUnion(other.properties)
            items.formUnion(other.items)
        }
    }

    /// Folds in a child instance's result: validity and errors only.
    mutating func merge(child other: Outcome) {
        valid = valid && other.valid
        violations += other.violations
    }
}

/// Applies compiled schemas to instances (JSON Schema's evaluation
/// process: dynamic scope, annotations, early exit when only validity matters).
struct Evaluator {
    let schema: CompiledSchema
    let assertFormats: Bool
    /// Resources entered so far, outermost first (`$dynamicRef`).
    private var scope: [String] = []
    private var depth = 0
    static let maxDepth = 256
    static let maxViolations = 100

    init(schema: CompiledSchema, assertFormats: Bool) {
        self.schema = schema
        self.assertFormats = assertFormats
    }

    /// Evaluates node `id` against `instance` at `path`; with `collect`
    /// false it stops at the first failure and records no messages.
    mutating func evaluate(_ id: Int, _ instance: JSONValue, _ path: [JSONPathComponent], collect: Bool) -> Outcome {
        let node = schema.nodes[id]
        var out = Outcome()
        if let constant = node.constant {
            if !constant {
                out.valid = false
                if collect { out.violations.append(violation(path, "false", "no value is allowed here", instance)) }
            }
            return out
        }
        guard depth < Self.maxDepth else {
            out.valid = false
            if collect {
                out.violations.append(violation(path, "$ref", "schema recursion deeper than \(Self.maxDepth) at \(node.location)", instance))
            }
            return out
        }
        depth += 1
        // A schema of another resource (its root, or reached by $ref) enters the dynamic scope.
        let entered = scope.last != node.resource
        if entered { scope.append(node.resource) }
        for keyword in node.keywords {
            apply(keyword, instance, path, collect: collect, into: &out)
            if !out.valid && !collect { break }
            if out.violations.count > Self.maxViolations { break }
        }
        if entered { scope.removeLast() }
        depth -= 1
        if !out.valid {
            out.properties = []
            out.items = EvaluatedItems()
        }
        return out
    }

    func violation(_ path: [JSONPathComponent], _ keyword: String, _ message: String, _ value: JSONValue,
                   property: String? = nil) -> JSONSchemaViolation {
        JSONSchemaViolation(path: path, keyword: keyword, message: message, value: value, property: property)
    }

    /// Records a failed assertion.
    func fail(_ out: inout Outcome, collect: Bool, _ make: @autoclosure () -> JSONSchemaViolation) {
        out.valid = false
        if collect { out.violations.append(make()) }
    }

    /// The `$dynamicRef` target: the outermost resource in scope with the anchor, else the static one.
    func dynamicTarget(_ target: Int, anchor: String?) -> Int {
        guard let anchor, let byResource = schema.dynamicAnchors[anchor] else { return target }
        for resource in scope {
            if let found = byResource[resource] { return found }
        }
        return target
    }
}

import JSON

extension Evaluator {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    mutating func apply(_ keyword: Keyword, _ instance: JSONValue, _ path: [JSONPathComponent],
                        collect: Bool, into out: inout Outcome) {
        switch keyword {
        case .ref(let target):
            out.merge(inPlace: evaluate(target, instance, path, collect: collect))
        case .dynamicRef(let target, let anchor):
            out.merge(inPlace: evaluate(dynamicTarget(target, anchor: anchor), instance, path, collect: collect))
        case .type(let types):
            if !types.contains(where: { $0.admits(instance) }) {
                fail(&out, collect: collect, violation(path, "type",
                    "Invalid type. Expected: \(types.map(\.rawValue).joined(separator: " or ")), given: \(Self.typeName(instance))", instance))
            }
        case .enumeration(let values):
            if !values.contains(instance) {
                fail(&out, collect: collect, violation(path, "enum",
                    "must be one of the following: \(values.map(\.serialized).joined(separator: ", "))", instance))
            }
        case .constant(let value):
            if value != instance {
                fail(&out, collect: collect, violation(path, "const", "does not match: \(value.serialized)", instance))
            }
        case .multipleOf, .maximum, .exclusiveMaximum, .minimum, .exclusiveMinimum:
            numeric(keyword, instance, path, collect: collect, into: &out)
        case .maxLength, .minLength, .pattern, .format:
            textual(keyword, instance, path, collect: collect, into: &out)
        case .maxItems, .minItems, .uniqueItems, .contains, .prefixItems, .items, .unevaluatedItems:
            arrayKeyword(keyword, instance, path, collect: collect, into: &out)
        case .maxProperties, .minProperties, .required, .dependentRequired, .dependentSchemas, .properties,
             .patternProperties, .additionalProperties, .propertyNames, .unevaluatedProperties:
            objectKeyword(keyword, instance, path, collect: collect, into: &out)
        case .allOf(let list):
            for s in list {
                out.merge(inPlace: evaluate(s, instance, path, collect: collect))
                if !out.valid && !collect { return }
            }
        case .anyOf(let list):
            var best: Outcome?
            var any = false
            for s in list {
                let r = evaluate(s, instance, path, collect: collect)
                if r.valid {
                    any = true
                    out.merge(inPlace: r)  // every valid branch adds annotations: no early exit
                } else if best == nil || r.violations.count < best!.violations.count {
                    best = r
                }
            }
            if !any {
                fail(&out, collect: collect, violation(path, "anyOf", "must validate at least one schema (anyOf)", instance))
                if let best { out.violations += best.violations }
            }
        case .oneOf(let list):
            var matched: [Outcome] = []
            var best: Outcome?
            for s in list {
                let r = evaluate(s, instance, path, collect: collect)
                if r.valid { matched.append(r) } else if best == nil || r.violations.count < best!.violations.count { best = r }
                if matched.count > 1 && !collect { break }
            }
            if matched.count == 1 {
                out.merge(inPlace: matched[0])
            } else {
                fail(&out, collect: collect, violation(path, "oneOf",
                    matched.isEmpty ? "must validate one and only one schema (oneOf): none matched"
                                    : "must validate one and only one schema (oneOf): \(matched.count) matched", instance))
                if matched.isEmpty, let best { out.violations += best.violations }
            }
        case .not(let s):
            if evaluate(s, instance, path, collect: false).valid {
                fail(&out, collect: collect, violation(path, "not", "must not validate the schema (not)", instance))
            }
        case .conditional(let test, let then, let otherwise):
            let r = evaluate(test, instance, path, collect: false)
            if r.valid {
                out.merge(inPlace: r)
                if let then { branch(then, "then", "if", instance, path, collect: collect, into: &out) }
            } else if let otherwise {
                branch(otherwise, "else", "if", instance, path, collect: collect, into: &out)
            }
        }
    }

    private mutating func branch(_ s: Int, _ name: String, _ cause: String, _ instance: JSONValue,
                                 _ path: [JSONPathComponent], collect: Bool, into out: inout Outcome) {
        let r = evaluate(s, instance, path, collect: collect)
        if !r.valid {
            fail(&out, collect: collect, violation(path, name,
                name == "then" ? "must validate \"then\" as \"if\" was valid" : "must validate \"else\" as \"if\" was not valid", instance))
        }
        out.merge(inPlace: r)
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "boolean"
        case .number: v.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    private func numeric(_ keyword: Keyword, _ instance: JSONValue, _ path: [JSONPathComponent],
                         collect: Bool, into out: inout Outcome) {
        guard case .number(let v) = instance else { return }
        let text = instance.serialized
        switch keyword {
        case .multipleOf(let d):
            if !Self.isMultiple(v, of: d) {
                fail(&out, collect: collect, violation(path, "multipleOf", "must be a multiple of \(JSONValue.number(d).serialized)", instance))
            }
        case .maximum(let m) where v > m:
            fail(&out, collect: collect, violation(path, "maximum", "\(text) must be less than or equal to \(JSONValue.number(m).serialized)", instance))
        case .exclusiveMaximum(let m) where v >= m:
            fail(&out, collect: collect, violation(path, "exclusiveMaximum", "\(text) must be less than \(JSONValue.number(m).serialized)", instance))
        case .minimum(let m) where v < m:
            fail(&out, collect: collect, violation(path, "minimum", "\(text) must be greater than or equal to \(JSONValue.number(m).serialized)", instance))
        case .exclusiveMinimum(let m) where v <= m:
            fail(&out, collect: collect, violation(path, "exclusiveMinimum", "\(text) must be greater than \(JSONValue.number(m).serialized)", instance))
        default:
            break
        }
    }

    /// `v` is an integer multiple of `d`, allowing for binary rounding of decimal fractions.
    static func isMultiple(_ v: Double, of d: Double) -> Bool {
        if v.rounded(.towardZero) == v, d.rounded(.towardZero) == d, abs(v) < 9e15 {
            return v.truncatingRemainder(dividingBy: d) == 0
        }
        let q = v / d
        guard q.isFinite else { return false }
        return abs(q - q.rounded()) <= 8 * q.ulp
    }

    private func textual(_ keyword: Keyword, _ instance: JSONValue, _ path: [JSONPathComponent],
                         collect: Bool, into out: inout Outcome) {
        guard case .string(let s) = instance else { return }
        switch keyword {
        case .maxLength(let n) where s.unicodeScalars.count > n:
            fail(&out, collect: collect, violation(path, "maxLength", "String length must be less than or equal to \(n)", instance))
        case .minLength(let n) where s.unicodeScalars.count < n:
            fail(&out, collect: collect, violation(path, "minLength", "String length must be greater than or equal to \(n)", instance))
        case .pattern(let r) where !r.matches(s):
            fail(&out, collect: collect, violation(path, "pattern", "Does not match pattern '\(r.source)'", instance))
        case .format(let name) where assertFormats && !JSONSchemaFormat.check(name, s):
            fail(&out, collect: collect, violation(path, "format", "Does not match format '\(name)'", instance))
        default:
            break
        }
    }
}

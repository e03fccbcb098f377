import JSON

extension Evaluator {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    mutating func arrayKeyword(_ keyword: Keyword, _ instance: JSONValue, _ path: [JSONPathComponent],
                               collect: Bool, into out: inout Outcome) {
        guard case .array(let items) = instance else { return }
        switch keyword {
        case .maxItems(let n) where items.count > n:
            fail(&out, collect: collect, violation(path, "maxItems", "Array must have at most \(n) items", instance))
        case .minItems(let n) where items.count < n:
            fail(&out, collect: collect, violation(path, "minItems", "Array must have at least \(n) items", instance))
        case .uniqueItems:
            var seen = Set<JSONValue>()
            for item in items where !seen.insert(item).inserted {
                fail(&out, collect: collect, violation(path, "uniqueItems", "array items must be unique", instance))
                return
            }
        case .contains(let s, let min, let max):
            var matched = 0
            for (i, item) in items.enumerated() where evaluate(s, item, path + [.index(i)], collect: false).valid {
                matched += 1
                out.items.indices.insert(i)
            }
            if matched < min {
                fail(&out, collect: collect, violation(path, "contains",
                    min == 1 ? "At least one of the items must match" : "At least \(min) of the items must match", instance))
            } else if let max, matched > max {
                fail(&out, collect: collect, violation(path, "maxContains", "At most \(max) of the items may match", instance))
            }
        case .prefixItems(let list):
            for (i, s) in list.enumerated() where i < items.count {
                out.merge(child: evaluate(s, items[i], path + [.index(i)], collect: collect))
                if !out.valid && !collect { return }
            }
            out.items.prefix = max(out.items.prefix, min(list.count, items.count))
        case .items(let s, let start):
            guard start < items.count else { return }
            if schema.nodes[s].constant == false {
                fail(&out, collect: collect, violation(path, "additionalItems",
                    "No additional items allowed on array (\(items.count) given, at most \(start))", instance))
                return
            }
            for i in start..<items.count {
                out.merge(child: evaluate(s, items[i], path + [.index(i)], collect: collect))
                if !out.valid && !collect { return }
            }
            out.items.prefix = items.count
        case .unevaluatedItems(let s):
            for i in items.indices where !out.items.contains(i) {
                let r = evaluate(s, items[i], path + [.index(i)], collect: collect)
                if !r.valid, schema.nodes[s].constant == false {
                    fail(&out, collect: collect, violation(path + [.index(i)], "unevaluatedItems", "item \(i) is not allowed (unevaluatedItems)", items[i]))
                } else {
                    out.merge(child: r)
                }
                if !out.valid && !collect { return }
            }
            out.items.prefix = items.count
        default:
            break
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    mutating func objectKeyword(_ keyword: Keyword, _ instance: JSONValue, _ path: [JSONPathComponent],
                                collect: Bool, into out: inout Outcome) {
        guard case .object(let members) = instance else { return }
        switch keyword {
        case .maxProperties(let n) where members.count > n:
            fail(&out, collect: collect, violation(path, "maxProperties", "Must have at most \(n) properties", instance))
        case .minProperties(let n) where members.count < n:
            fail(&out, collect: collect, violation(path, "minProperties", "Must have at least \(n) properties", instance))
        case .required(let names):
            for name in names where instance[name] == nil {
                fail(&out, collect: collect, violation(path, "required", "\(name) is required", instance, property: name))
                if !collect { return }
            }
        case .dependentRequired(let rules):
            for (name, needs) in rules where instance[name] != nil {
                for need in needs where instance[need] == nil {
                    fail(&out, collect: collect, violation(path, "dependentRequired", "Has a dependency on \(need)", instance, property: need))
                    if !collect { return }
                }
            }
        case .dependentSchemas(let rules):
            for (name, s) in rules where instance[name] != nil {
                out.merge(inPlace: evaluate(s, instance, path, collect: collect))
                if !out.valid && !collect { return }
            }
        case .properties(let props):
            for (name, s) in props {
                guard let value = instance[name] else { continue }
                out.merge(child: evaluate(s, value, path + [.name(name)], collect: collect))
                out.properties.insert(name)
                if !out.valid && !collect { return }
            }
        case .patternProperties(let list):
            for (name, value) in members {
                for (regex, s) in list where regex.matches(name) {
                    out.merge(child: evaluate(s, value, path + [.name(name)], collect: collect))
                    out.properties.insert(name)
                    if !out.valid && !collect { return }
                }
            }
        case .additionalProperties(let s, let known, let patterns):
            for (name, value) in members where !known.contains(name) && !patterns.contains(where: { $0.matches(name) }) {
                extra(s, "additionalProperties", name, value, instance, path, collect: collect, into: &out)
                if !out.valid && !collect { return }
            }
        case .unevaluatedProperties(let s):
            let evaluated = out.properties
            for (name, value) in members where !evaluated.contains(name) {
                extra(s, "unevaluatedProperties", name, value, instance, path, collect: collect, into: &out)
                if !out.valid && !collect { return }
            }
        case .propertyNames(let s):
            for (name, _) in members where !evaluate(s, .string(name), path, collect: false).valid {
                fail(&out, collect: collect, violation(path, "propertyNames", "Property name \"\(name)\" does not match the schema", instance, property: name))
                if !collect { return }
            }
        default:
            break
        }
    }

    /// A member checked by `additionalProperties`/`unevaluatedProperties`.
    private mutating func extra(_ s: Int, _ keyword: String, _ name: String, _ value: JSONValue, _ instance: JSONValue,
                                _ path: [JSONPathComponent], collect: Bool, into out: inout Outcome) {
        if schema.nodes[s].constant == false {
            fail(&out, collect: collect, violation(path, keyword, "Additional property \(name) is not allowed", instance, property: name))
        } else {
            out.merge(child: evaluate(s, value, path + [.name(name)], collect: collect))
        }
        out.properties.insert(name)
    }
}

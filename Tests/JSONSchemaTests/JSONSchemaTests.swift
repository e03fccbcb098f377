import JSON
import JSONSchema
import Testing

private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

@Suite("JSONSchema: errors, definitions, platform fields")
struct JSONSchemaTests {
    @Test("violations name the field, the platform error type and the value")
    func violationFields() throws {
        let schema = try JSONSchema(json("""
            {"type": "object", "required": ["name", "port"],
             "properties": {"name": {"type": "string", "minLength": 3},
                            "port": {"type": "integer", "maximum": 65535},
                            "hosts": {"type": "array", "items": {"format": "hostname"}}},
             "additionalProperties": false}
            """))
        let problems = schema.validate(try json(#"{"name": "ab", "hosts": ["ok.example", "bad_host"], "x": 1}"#))
        let summary = problems.map { "\($0.field) \($0.type) \($0.value.serialized)" }
        #expect(summary == [
            #"port required {"name":"ab","hosts":["ok.example","bad_host"],"x":1}"#,
            #"name string_gte "ab""#,
            #"hosts.1 format "bad_host""#,
            #"x additional_property_not_allowed {"name":"ab","hosts":["ok.example","bad_host"],"x":1}"#,
        ], "\(summary)")
        #expect(schema.validate(try json(#"{"name": "abc", "port": 80}"#)).isEmpty)
        #expect(!schema.isValid(try json(#"{"name": "abc", "port": 80.5}"#)))
        #expect(schema.validate(try json("[]")).map(\.field) == ["(root)"])
    }

    @Test("$ref into an extra definitions document, found by its $id")
    func definitions() throws {
        let library = try json("""
            {"$id": "http://schema.nethserver.org/agent/validator-definitions.json",
             "definitions": {"ipv4": {"type": "string", "format": "ipv4"},
                             "port": {"type": "integer", "minimum": 1, "maximum": 65535}}}
            """)
        let schema = try JSONSchema(json("""
            {"type": "object", "properties": {
               "address": {"$ref": "http://schema.nethserver.org/agent/validator-definitions.json#/definitions/ipv4"},
               "port": {"$ref": "http://schema.nethserver.org/agent/validator-definitions.json#/definitions/port"}}}
            """), definitions: [library])
        #expect(schema.isValid(try json(#"{"address": "10.5.4.1", "port": 389}"#)))
        #expect(schema.validate(try json(#"{"address": "10.5.4.300", "port": 0}"#)).map(\.field) == ["address", "port"])
    }

    @Test("a schema that cannot be used says where and why")
    func badSchemas() throws {
        #expect(throws: JSONSchemaError.invalidPattern(location: "urn:nscore:schema#/properties/a", pattern: "(")) {
            try JSONSchema(json(#"{"properties": {"a": {"pattern": "("}}}"#))
        }
        #expect(throws: JSONSchemaError.unresolvedReference(location: "urn:nscore:schema#", reference: "#/definitions/nope")) {
            try JSONSchema(json(##"{"$ref": "#/definitions/nope"}"##))
        }
        #expect(throws: JSONSchemaError.invalidKeyword(location: "urn:nscore:schema#", keyword: "minLength",
                                                       reason: "must be a non-negative integer")) {
            try JSONSchema(json(#"{"minLength": "3"}"#))
        }
        #expect(throws: JSONSchemaError.notASchema(location: "urn:nscore:schema#/items")) {
            try JSONSchema(json(#"{"items": 3}"#))
        }
    }

    @Test("a recursive schema terminates on deep and on cyclic evaluation")
    func recursion() throws {
        let tree = try JSONSchema(json(##"{"type": "object", "properties": {"child": {"$ref": "#"}}}"##))
        var deep = JSONValue.object([])
        for _ in 0..<100 { deep = .object([("child", deep)]) }
        #expect(tree.isValid(deep))
        let loop = try JSONSchema(json(##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##),
                                  defaultDraft: .draft2020_12)
        let problems = loop.validate(.null)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("recursion") == true)
    }

    @Test("format is only an annotation when assertions are off")
    func formatAnnotation() throws {
        let on = try JSONSchema(json(#"{"format": "email"}"#))
        let off = try JSONSchema(json(#"{"format": "email"}"#), assertFormats: false)
        #expect(!on.isValid(.string("nope")))
        #expect(off.isValid(.string("nope")))
        #expect(on.isValid(.string("root@example.org")))
    }
}

import JSON
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test("parses every kind of value, keeps member order, serializes back")
    func roundTrip() throws {
        let text = #"{"b":[1,2.5,-3e2,true,false,null],"a":{"s":"x\"\\\/\n\u00e9\ud83d\ude00"},"z":0}"#
        let v = try JSONValue.parse(text)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.name) == ["b", "a", "z"])
        #expect(v["b"] == .array([.number(1), .number(2.5), .number(-300), .bool(true), .bool(false), .null]))
        #expect(v["a"]?["s"] == .string("x\"\\/\né😀"))
        #expect(v.serialized == #"{"b":[1,2.5,-300,true,false,null],"a":{"s":"x\"\\/\né😀"},"z":0}"#)
        #expect(try JSONValue.parse(v.serialized) == v)
    }

    @Test("JSON Schema equality: numbers by value, objects in any order")
    func equality() throws {
        #expect(try JSONValue.parse("1") == JSONValue.parse("1.0"))
        #expect(try JSONValue.parse(#"{"a":1,"b":2}"#) == JSONValue.parse(#"{"b":2,"a":1}"#))
        #expect(try JSONValue.parse("[1,2]") != JSONValue.parse("[2,1]"))
        #expect(try JSONValue.parse("true") != JSONValue.parse("1"))
        #expect(Set([try JSONValue.parse(#"{"a":1,"b":2}"#), try JSONValue.parse(#"{"b":2,"a":1.0}"#)]).count == 1)
        #expect(JSONValue.number(3).isInteger && !JSONValue.number(3.5).isInteger && !JSONValue.string("3").isInteger)
    }

    @Test("bad input names the offset", arguments: [
        ("", 0), ("[1,", 3), ("{\"a\" 1}", 5), ("01", 1), ("1.", 2), ("\"\u{1}\"", 1), ("[1] x", 4), ("nul", 0), ("\"\\x\"", 3),
        // Found by the fuzzer: it read as infinity and serialized as null.
        ("[1e333333]", 1),
    ])
    func errors(text: String, offset: Int) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        do { _ = try JSONValue.parse(text) } catch { #expect(error.offset == offset, "\(text.debugDescription): \(error)") }
    }

    @Test("nesting is limited")
    func depth() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) }
        #expect((try? JSONValue.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
    }

    @Test("secrets are masked at any depth by name suffix, nothing else changes")
    func masking() throws {
        let task = try JSONValue.parse(#"""
            {"action":"add-user","data":{"user":"bob","Password":"s3","api_token":"t","nested":[{"privkey":"k","BindPass":"p","count":3}],
             "keys":["not","a","secret"],"passphrase":"kept: the name does not end with a suffix"}}
            """#)
        let masked = task.maskingSecrets
        #expect(masked.serialized == #"{"action":"add-user","data":{"user":"bob","Password":"XXX","api_token":"XXX","nested":[{"privkey":"XXX","BindPass":"XXX","count":3}],"keys":["not","a","secret"],"passphrase":"kept: the name does not end with a suffix"}}"#)
    }
}

@Test("strings compare code point for code point (JSON Schema const/enum)")
func stringsCompareByCodePoints() {
    #expect(JSONValue.string("\u{E9}") != JSONValue.string("e\u{301}"))
    #expect(JSONValue.string("caf\u{E9}") == JSONValue.string("caf\u{E9}"))
}

@Test("pretty output indents by two spaces and keeps member order")
func prettyOutput() throws {
    let v = try JSONValue.parse(#"{"b":[1,{"c":null}],"a":{},"d":[]}"#)
    #expect(v.prettySerialized == "{\n  \"b\": [\n    1,\n    {\n      \"c\": null\n    }\n  ],\n  \"a\": {},\n  \"d\": []\n}")
}

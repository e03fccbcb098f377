import Foundation
import JSON
import JSONSchema
import Testing

/// The official JSON-Schema-Test-Suite, draft 7 and draft 2020-12 (copied
/// under Suite/). Every file runs, except the ones listed in
/// ``OfficialSuite/unsupported`` with the reason (also in the README).
enum OfficialSuite {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Suite").path

    /// Files (relative to Suite/) not run, and why.
    static let unsupported: [String: String] = [
        "draft7/refRemote.json": "needs the suite's remotes/ served on localhost:1234",
        "draft2020-12/refRemote.json": "needs the suite's remotes/ served on localhost:1234",
        "draft2020-12/vocabulary.json": "custom meta-schemas with $vocabulary come from remotes/",
        "draft7/optional/format/idn-email.json": "idn-email is not asserted",
        "draft7/optional/format/idn-hostname.json": "idn-hostname is not asserted",
        "draft7/optional/format/iri.json": "iri is not asserted",
        "draft7/optional/format/iri-reference.json": "iri-reference is not asserted",
        "draft7/optional/format/uri-template.json": "uri-template is not asserted",
        "draft7/optional/format/ecmascript-regex.json": "regex format uses Swift's Regex, not ECMA-262 exactly",
        "draft2020-12/optional/format/idn-email.json": "idn-email is not asserted",
        "draft2020-12/optional/format/idn-hostname.json": "idn-hostname is not asserted",
        "draft2020-12/optional/format/iri.json": "iri is not asserted",
        "draft2020-12/optional/format/iri-reference.json": "iri-reference is not asserted",
        "draft2020-12/optional/format/uri-template.json": "uri-template is not asserted",
        "draft2020-12/optional/format/duration.json": "duration is not asserted",
        "draft2020-12/optional/format/ecmascript-regex.json": "regex format uses Swift's Regex, not ECMA-262 exactly",
    ]

    /// Groups (file: descriptions) not run because their schemas point into remotes/.
    static let unsupportedGroups: [String: Set<String>] = [
        "draft2020-12/dynamicRef.json": [
            "strict-tree schema, guards against misspelled properties",
            "tests for implementation dynamic anchor and reference link",
            "$ref and $dynamicAnchor are independent of order - $defs first",
            "$ref and $dynamicAnchor are independent of order - $ref first",
            "$ref to $dynamicRef finds detached $dynamicAnchor",
        ],
    ]

    /// The required files (the whole draft folders) and the optional format files.
    static let files: [String] = {
        var out: [String] = []
        for draft in ["draft7", "draft2020-12"] {
            for sub in ["", "/optional/format"] {
                let dir = root + "/" + draft + sub
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                out += names.filter { $0.hasSuffix(".json") }.sorted().map { draft + sub + "/" + $0 }
            }
        }
        return out
    }()

    struct Failure: CustomStringConvertible {
        let group: String, test: String, expected: Bool, detail: String
        var description: String { "\(group) / \(test): expected \(expected ? "valid" : "invalid") \(detail)" }
    }

    /// Runs one file; returns the cases that disagree with the suite and the number run.
    static func run(_ file: String) throws -> (failures: [Failure], cases: Int) {
        let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
        guard case .array(let groups) = try JSONValue.parse(text) else { throw SuiteError.notAnArray(file) }
        let draft: JSONSchemaDraft = file.hasPrefix("draft7") ? .draft7 : .draft2020_12
        let assertFormats = file.contains("/optional/format/")
        var failures: [Failure] = []
        var cases = 0
        for group in groups {
            let description = group["description"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "?"
            guard let schemaJSON = group["schema"], case .array(let tests) = group["tests"] ?? .null else { continue }
            if unsupportedGroups[file]?.contains(description) == true { continue }
            let schema: JSONSchema
            do {
                schema = try JSONSchema(schemaJSON, defaultDraft: draft, assertFormats: assertFormats)
            } catch {
                failures.append(Failure(group: description, test: "(compile)", expected: true, detail: "\(error)"))
                continue
            }
            for test in tests {
                cases += 1
                guard let data = test["data"], case .bool(let valid) = test["valid"] ?? .null else { continue }
                let name = test["description"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "?"
                let violations = schema.validate(data)
                let quick = schema.isValid(data)
                if violations.isEmpty != valid || quick != valid {
                    failures.append(Failure(group: description, test: name, expected: valid,
                                            detail: "(validate: \(violations.prefix(3)), isValid: \(quick))"))
                }
            }
        }
        return (failures, cases)
    }

    enum SuiteError: Error { case notAnArray(String) }
}

@Suite("JSON-Schema-Test-Suite (draft7, draft2020-12)")
struct OfficialSuiteTests {
    @Test("the suite's files are present")
    func present() {
        #expect(OfficialSuite.files.count > 100, "Suite/ holds \(OfficialSuite.files.count) files")
        for name in OfficialSuite.unsupported.keys {
            #expect(OfficialSuite.files.contains(name), "unsupported list names a missing file \(name)")
        }
    }

    @Test("every supported file passes", arguments: OfficialSuite.files.filter { OfficialSuite.unsupported[$0] == nil })
    func file(_ name: String) throws {
        let (failures, cases) = try OfficialSuite.run(name)
        #expect(cases > 0)
        #expect(failures.isEmpty, "\(name): \(failures.count) of \(cases) cases fail:\n\(failures.map(\.description).joined(separator: "\n"))")
    }
}


/// A `pattern` regular expression, matched the way ECMA-262 does for
/// JSON Schema: unanchored search over Unicode scalars, `\d` and `\w`
/// ASCII-only, `$` only at the very end.
///
/// Built on the standard library's `Regex` (no Foundation). `Regex` is an
/// immutable value whose compiled program is created once, atomically,
/// so sharing it between tasks is safe.
struct ECMARegex: @unchecked Sendable {
    /// The pattern as written in the schema.
    let source: String
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `source`; throws when it is not a valid pattern.
    init(_ source: String) throws {
        self.source = source
        regex = try Regex(source)
            .matchingSemantics(.unicodeScalar)
            .asciiOnlyDigits()
            .asciiOnlyWordCharacters()
    }

    /// True when the pattern matches anywhere in `text`.
    func matches(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }
}

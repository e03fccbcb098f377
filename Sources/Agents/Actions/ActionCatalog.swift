/// Finds the steps of actions and event handlers: the union of the regular
/// files in `<dir>/<name>/` over every directory, the later directory
/// winning for a file name present in several; steps in lexical order.
public struct ActionCatalog: Sendable {
    /// One step: its file name and the path that runs.
    public struct Step: Sendable, Equatable {
        public let name: String
        public let path: String
    }

    /// Base directories, in the order given on the command line.
    public let directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// `validate-input.json` / `validate-output.json`: checked by the agent, weight 0.
    public static let validateInput = "validate-input.json"
    public static let validateOutput = "validate-output.json"

    static func isValidationStep(_ name: String) -> Bool {
        name == validateInput || name == validateOutput
    }

    /// The steps of `name` as of now (empty: not defined). The validation
    /// files run first and last; the others in byte order of their names.
    public func steps(of name: String) -> [Step] {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return [] }
        var byName: [String: String] = [:]
        for dir in directories {
            for entry in FileSystem.list(dir + "/" + name) ?? [] where !entry.isDirectory {
                byName[entry.name] = dir + "/" + name + "/" + entry.name
            }
        }
        var steps = byName.keys.filter { !Self.isValidationStep($0) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { Step(name: $0, path: byName[$0]!) }
        if let input = byName[Self.validateInput] { steps.insert(Step(name: Self.validateInput, path: input), at: 0) }
        if let output = byName[Self.validateOutput] { steps.append(Step(name: Self.validateOutput, path: output)) }
        return steps
    }

    /// Every action (or handler) name found, sorted.
    public func names() -> [String] {
        var names = Set<String>()
        for dir in directories {
            for entry in FileSystem.list(dir) ?? [] where entry.isDirectory { names.insert(entry.name) }
        }
        return names.sorted()
    }
}

/// The commands of the Redis version the platform runs, generated from a
/// real server by `scripts/gen-command-table.py`
/// (`RedisCommandTable+generated.swift`).
public enum RedisCommandTable {
    /// Every command and subcommand, sorted by name.
    public static var all: [RedisCommandInfo] { generated }

    private static let byName: [String: RedisCommandInfo] =
        Dictionary(uniqueKeysWithValues: generated.map { ($0.name, $0) })

    /// The entry for a lower-case name (`get`, `config|get`).
    public static func info(named name: String) -> RedisCommandInfo? {
        byName[name]
    }

    /// The entry for a command line: the subcommand's entry for container
    /// commands (`CONFIG GET …` → `config|get`), nil for an unknown command
    /// or subcommand.
    public static func info<Argument: RedisArgument>(for arguments: some RandomAccessCollection<Argument>) -> RedisCommandInfo? {
        guard let first = arguments.first, let info = byName[first.lowercasedName] else { return nil }
        guard info.hasSubcommands else { return info }
        let second = arguments.index(after: arguments.startIndex)
        guard second < arguments.endIndex else { return info }
        return byName[info.name + "|" + arguments[second].lowercasedName]
    }
}

extension RedisCommandInfo {
    /// The result of looking for keys in a command line.
    public enum Keys: Equatable, Sendable {
        /// Argument indices (0 = the command name) of every key, in order.
        case indices([Int])
        /// A key specification cannot be followed (`SORT … BY pattern`):
        /// the command may touch keys we cannot name.
        case unknowable
    }

    /// True when `count` arguments (name included) satisfy the arity.
    public func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The keys of a command line, following the key specs the way Redis does
    /// (`getKeysUsingKeySpecs`): a spec whose arguments are missing or whose
    /// key count is not a number contributes no keys.
    public func keys<Arguments: RandomAccessCollection>(in arguments: Arguments) -> Keys where Arguments.Element: RedisArgument {
        let argc = arguments.count
        func argv(_ i: Int) -> Arguments.Element { arguments[arguments.index(arguments.startIndex, offsetBy: i)] }
        // The common shape (one key at a fixed position: GET, SET, HGET…) without the general walk.
        if keySpecs.count == 1, case .index(let position) = keySpecs[0].begin, case .range(0, _, _) = keySpecs[0].find,
           !keySpecs[0].flags.contains(.notKey) {
            return .indices(position < argc ? [position] : [])
        }
        var found: [Int] = []
        for spec in keySpecs {
            if spec.flags.contains(.notKey) { continue }
            var first: Int
            switch spec.begin {
            case .index(let position):
                first = position
            case .keyword(let keyword, let startFrom):
                let start = startFrom > 0 ? startFrom : argc + startFrom
                let end = startFrom > 0 ? argc - 1 : 0
                first = 0
                var i = start
                while i != end {
                    if i >= argc || i < 1 { break }
                    if argv(i).equalsIgnoringCase(keyword) { first = i + 1; break }
                    i += start <= end ? 1 : -1
                }
                if first == 0 { continue }
            case .unknown:
                return .unknowable
            }
            let last: Int, step: Int
            switch spec.find {
            case .range(let lastKey, let keyStep, let limit):
                step = keyStep
                if lastKey >= 0 {
                    last = first + lastKey
                } else if limit == 0 {
                    last = argc + lastKey
                } else {
                    last = first + ((argc - first) / limit + lastKey)
                }
            case .keynum(let index, let firstKey, let keyStep):
                step = keyStep
                guard first + index < argc, let count = argv(first + index).integerValue, count >= 0 else { continue }
                first += firstKey
                last = first + count - 1
            case .unknown:
                return .unknowable
            }
            guard step > 0, last < argc || first > last else { continue }
            var i = first
            while i <= last {
                found.append(i)
                i += step
            }
        }
        return .indices(found)
    }
}

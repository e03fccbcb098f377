/// What Redis says about one command or subcommand (`COMMAND INFO`), as
/// generated into ``RedisCommandTable``.
public struct RedisCommandInfo: Sendable {
    /// Lower-case name; subcommands are `container|sub` (`config|get`).
    public let name: String
    /// Argument count including the name; negative means "at least -arity".
    public let arity: Int
    /// Command flags (`readonly`, `write`, `blocking`, …).
    public let flags: Flags
    /// Legacy key positions (first, last, step); see ``keySpecs`` for the full picture.
    public let firstKey: Int, lastKey: Int, step: Int
    /// ACL categories (`@read`, `@write`, `@admin`, …).
    public let categories: Categories
    /// Redis 7 key specifications, in order.
    public let keySpecs: [RedisKeySpec]
    /// True for container commands (`CONFIG`, `ACL`, `CLIENT`…) whose second argument picks the entry.
    public let hasSubcommands: Bool
    /// `COMMAND DOCS` group and summary.
    public let group: String, summary: String

    /// The command flags of `COMMAND INFO`.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let write = Flags(rawValue: 1 << 0)
        public static let readonly = Flags(rawValue: 1 << 1)
        public static let denyoom = Flags(rawValue: 1 << 2)
        public static let module = Flags(rawValue: 1 << 3)
        public static let admin = Flags(rawValue: 1 << 4)
        public static let pubsub = Flags(rawValue: 1 << 5)
        public static let noscript = Flags(rawValue: 1 << 6)
        public static let blocking = Flags(rawValue: 1 << 7)
        public static let loading = Flags(rawValue: 1 << 8)
        public static let stale = Flags(rawValue: 1 << 9)
        public static let skipMonitor = Flags(rawValue: 1 << 10)
        public static let skipSlowlog = Flags(rawValue: 1 << 11)
        public static let asking = Flags(rawValue: 1 << 12)
        public static let fast = Flags(rawValue: 1 << 13)
        public static let noAuth = Flags(rawValue: 1 << 14)
        public static let mayReplicate = Flags(rawValue: 1 << 15)
        public static let sentinel = Flags(rawValue: 1 << 16)
        public static let onlySentinel = Flags(rawValue: 1 << 17)
        public static let noMandatoryKeys = Flags(rawValue: 1 << 18)
        public static let protected = Flags(rawValue: 1 << 19)
        public static let noAsyncLoading = Flags(rawValue: 1 << 20)
        public static let noMulti = Flags(rawValue: 1 << 21)
        public static let movablekeys = Flags(rawValue: 1 << 22)
        public static let allowBusy = Flags(rawValue: 1 << 23)
    }

    /// ACL categories (`ACL CAT`).
    public struct Categories: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let keyspace = Categories(rawValue: 1 << 0)
        public static let read = Categories(rawValue: 1 << 1)
        public static let write = Categories(rawValue: 1 << 2)
        public static let set = Categories(rawValue: 1 << 3)
        public static let sortedset = Categories(rawValue: 1 << 4)
        public static let list = Categories(rawValue: 1 << 5)
        public static let hash = Categories(rawValue: 1 << 6)
        public static let string = Categories(rawValue: 1 << 7)
        public static let bitmap = Categories(rawValue: 1 << 8)
        public static let hyperloglog = Categories(rawValue: 1 << 9)
        public static let geo = Categories(rawValue: 1 << 10)
        public static let stream = Categories(rawValue: 1 << 11)
        public static let pubsub = Categories(rawValue: 1 << 12)
        public static let admin = Categories(rawValue: 1 << 13)
        public static let fast = Categories(rawValue: 1 << 14)
        public static let slow = Categories(rawValue: 1 << 15)
        public static let blocking = Categories(rawValue: 1 << 16)
        public static let dangerous = Categories(rawValue: 1 << 17)
        public static let connection = Categories(rawValue: 1 << 18)
        public static let transaction = Categories(rawValue: 1 << 19)
        public static let scripting = Categories(rawValue: 1 << 20)
    }
}

/// One Redis 7 key specification: where the search for keys begins and how
/// the keys are found from there.
public struct RedisKeySpec: Sendable {
    /// Where the keys start.
    public enum BeginSearch: Sendable {
        /// At this argument index (0 = the command name).
        case index(Int)
        /// After `keyword`, searched from `startFrom` (negative: from the end, backwards).
        case keyword(String, startFrom: Int)
        /// Not describable (the command parses its own arguments).
        case unknown
    }

    /// How many keys follow the beginning.
    public enum FindKeys: Sendable {
        /// `lastKey` relative to the beginning (negative: from the end), every `step`;
        /// with `limit` > 0 and lastKey -1, only `1/limit` of the remaining arguments.
        case range(lastKey: Int, step: Int, limit: Int)
        /// The argument at `index` (relative) holds the key count; keys start at `firstKey` (relative).
        case keynum(index: Int, firstKey: Int, step: Int)
        /// Not describable.
        case unknown
    }

    /// Key-spec flags (`RO`, `RW`, `OW`, `RM`, `access`, `insert`, …).
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let ro = Flags(rawValue: 1 << 0)
        public static let rw = Flags(rawValue: 1 << 1)
        public static let ow = Flags(rawValue: 1 << 2)
        public static let rm = Flags(rawValue: 1 << 3)
        public static let access = Flags(rawValue: 1 << 4)
        public static let update = Flags(rawValue: 1 << 5)
        public static let insert = Flags(rawValue: 1 << 6)
        public static let delete = Flags(rawValue: 1 << 7)
        public static let notKey = Flags(rawValue: 1 << 8)
        public static let incomplete = Flags(rawValue: 1 << 9)
        public static let variableFlags = Flags(rawValue: 1 << 10)
    }

    public let begin: BeginSearch
    public let find: FindKeys
    public let flags: Flags
}

import NIOCore
import RESP

/// What the proxy must know of a command name, looked up once per name and
/// loop (no String is made for a request whose name was seen before).
struct CommandEntry {
    /// How the session treats the command.
    enum Kind {
        case routed, auth, hello, select, client, quit, reset, monitor
        case subscribe, unsubscribe, multi, watch, exec, discard, unwatch
    }

    let name: String
    /// The table entry; nil for an unknown command or a container (`CLIENT`, `CONFIG`…)
    /// whose entry depends on the subcommand.
    let info: RedisCommandInfo?
    let isContainer: Bool
    let kind: Kind
    /// BRPOP & co., WAIT: a link of its own while it blocks.
    let isBlocking: Bool
}

/// Command entries by the name's bytes as clients send them (`GET`, `get`).
final class CommandCache {
    private var entries: [ByteBuffer: CommandEntry] = [:]
    private static let limit = 1024

    func entry(_ nameBytes: ByteBuffer) -> CommandEntry {
        if let known = entries[nameBytes] { return known }
        let name = nameBytes.lowercasedName
        let info = RedisCommandTable.info(named: name)
        let kind: CommandEntry.Kind
        switch name {
        case "auth": kind = .auth
        case "hello": kind = .hello
        case "select": kind = .select
        case "client": kind = .client
        case "quit": kind = .quit
        case "reset": kind = .reset
        case "monitor": kind = .monitor
        case "subscribe", "psubscribe", "ssubscribe": kind = .subscribe
        case "unsubscribe", "punsubscribe", "sunsubscribe": kind = .unsubscribe
        case "multi": kind = .multi
        case "watch": kind = .watch
        case "exec": kind = .exec
        case "discard": kind = .discard
        case "unwatch": kind = .unwatch
        default: kind = .routed
        }
        let entry = CommandEntry(name: name, info: info?.hasSubcommands == true ? nil : info,
                                 isContainer: info?.hasSubcommands == true, kind: kind,
                                 isBlocking: info?.flags.contains(.blocking) == true || name == "wait" || name == "waitaof")
        // Keyed by a copy: a slice would keep the whole receive buffer alive.
        if entries.count < Self.limit { entries[ByteBuffer(bytes: nameBytes.readableBytesView)] = entry }
        return entry
    }
}

/// Where a module lives on its node. Rootless: the Unix user `ID` with home
/// `/home/ID`, the image's tree in `~/.config/` (actions, events, systemd,
/// bin). Rootfull: `/var/lib/nethserver/ID/`, run as root. Both keep their
/// state (agent.env, box.key, ./environment) in `state/` under that tree.
public struct ModuleLayout: Sendable, Equatable {
    public let id: String
    public let rootfull: Bool
    public let home: String

    public init(id: String, rootfull: Bool, homeBase: String = "/home", rootfullBase: String = "/var/lib/nethserver") {
        self.id = id
        self.rootfull = rootfull
        home = rootfull ? "\(rootfullBase)/\(id)" : "\(homeBase)/\(id)"
    }

    /// Where the image's `imageroot/` goes.
    public var root: String { rootfull ? home : home + "/.config" }
    public var state: String { root + "/state" }
    public var agentEnv: String { state + "/agent.env" }
    public var secretKey: String { state + "/box.key" }
    public var actions: String { root + "/actions" }

    /// A module id: a lower-case name followed by its sequence number (`mail1`).
    public static func validate(id: String) throws(LifecycleError) {
        let letters = Set("abcdefghijklmnopqrstuvwxyz")
        let tail = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
        guard id.count <= 32, let first = id.first, letters.contains(first), id.allSatisfy({ tail.contains($0) }),
              id.last!.isNumber else {
            throw .invalid(parameter: "module_id", "'\(id)' is not a module id (lower-case name and a number, e.g. mail1)")
        }
    }
}

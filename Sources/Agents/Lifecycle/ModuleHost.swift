#if canImport(Glibc)
import Glibc
#endif

/// What module lifecycle needs from the node: users, lingering, the module
/// agent's unit. ``SystemModuleHost`` calls the real tools.
public protocol ModuleHost: Sendable {
    func userExists(_ name: String) async throws(LifecycleError) -> Bool
    /// Creates the user with its home (from the skeleton when there is one).
    func createUser(_ name: String, home: String) async throws(LifecycleError)
    /// Deletes the user (not its home: that is moved or removed by the caller).
    func deleteUser(_ name: String) async throws(LifecycleError)
    func setLinger(_ name: String, enabled: Bool) async throws(LifecycleError)
    /// Installs, enables and (with systemd running) (re)starts the module's agent.
    func enableAgent(_ module: ModuleLayout) async throws(LifecycleError)
    /// Stops and disables the module's agent and every process of its user.
    func disableAgent(_ module: ModuleLayout) async throws(LifecycleError)
    /// Gives a tree to the module's user.
    func chown(_ path: String, to user: String) async throws(LifecycleError)
}

/// The production host: useradd/userdel, loginctl, systemctl, chown. Without
/// systemd as PID 1 (a container, CI) it does on disk what loginctl and
/// `systemctl enable` would (the linger file, the wants/ symlink) and says so
/// in the log; starting the agent is then up to whoever runs the node.
public struct SystemModuleHost: ModuleHost {
    /// nscore's shared files (`systemd/user/agent.service`, `skel/`).
    public var shareDirectory: String
    public var log: @Sendable (String) -> Void

    public init(shareDirectory: String, log: @escaping @Sendable (String) -> Void) {
        self.shareDirectory = shareDirectory
        self.log = log
    }

    static var systemdRunning: Bool { access("/run/systemd/system", F_OK) == 0 }

    public func userExists(_ name: String) async throws(LifecycleError) -> Bool {
        try await ExternalTool.run("/usr/bin/getent", ["passwd", name]).status == 0
    }

    public func createUser(_ name: String, home: String) async throws(LifecycleError) {
        var args = ["-m", "-d", home, "-s", "/bin/bash", "-c", "nscore module \(name)", "-U"]
        if access(shareDirectory + "/skel", F_OK) == 0 { args += ["-k", shareDirectory + "/skel"] }
        try await ExternalTool.check("/usr/sbin/useradd", args + [name])
    }

    public func deleteUser(_ name: String) async throws(LifecycleError) {
        try await ExternalTool.check("/usr/sbin/userdel", [name])
    }

    public func setLinger(_ name: String, enabled: Bool) async throws(LifecycleError) {
        if Self.systemdRunning {
            try await ExternalTool.check("/usr/bin/loginctl", [enabled ? "enable-linger" : "disable-linger", name])
            return
        }
        let file = "/var/lib/systemd/linger/\(name)"
        if enabled {
            try Files.makeDirectory("/var/lib/systemd/linger", mode: 0o755)
            try Files.write(file, [], mode: 0o644)
            log("systemd is not running: wrote \(file) (what loginctl enable-linger does); lingering starts with systemd")
        } else {
            unlink(file)
        }
    }

    public func enableAgent(_ module: ModuleLayout) async throws(LifecycleError) {
        if module.rootfull {
            if Self.systemdRunning {
                try await ExternalTool.check("/usr/bin/systemctl", ["enable", "agent@\(module.id).service"])
                try await ExternalTool.check("/usr/bin/systemctl", ["restart", "agent@\(module.id).service"])
            } else {
                try Files.makeDirectory("/etc/systemd/system/multi-user.target.wants", mode: 0o755)
                try Files.symlink("/etc/systemd/system/agent@.service",
                                  at: "/etc/systemd/system/multi-user.target.wants/agent@\(module.id).service")
                log("systemd is not running: enabled agent@\(module.id).service by its wants/ link; it starts with systemd")
            }
            return
        }
        let units = module.root + "/systemd/user"
        try Files.makeDirectory(units + "/default.target.wants", mode: 0o755)
        try Files.write(units + "/agent.service", try Files.read(shareDirectory + "/systemd/user/agent.service"), mode: 0o644)
        try Files.symlink("../agent.service", at: units + "/default.target.wants/agent.service")
        try await chown(module.root + "/systemd", to: module.id)
        if Self.systemdRunning {
            try await ExternalTool.check("/usr/bin/systemctl", ["--user", "-M", "\(module.id)@", "daemon-reload"])
            // restart: after an update the agent must read its new agent.env.
            try await ExternalTool.check("/usr/bin/systemctl", ["--user", "-M", "\(module.id)@", "restart", "agent.service"])
        } else {
            log("systemd is not running: agent.service of \(module.id) is installed and enabled in \(units); it starts with the user's systemd")
        }
    }

    public func disableAgent(_ module: ModuleLayout) async throws(LifecycleError) {
        if Self.systemdRunning {
            if module.rootfull {
                _ = try await ExternalTool.run("/usr/bin/systemctl", ["disable", "--now", "agent@\(module.id).service"])
            } else {
                _ = try await ExternalTool.run("/usr/bin/systemctl", ["--user", "-M", "\(module.id)@", "disable", "--now", "agent.service"])
            }
        } else if module.rootfull {
            unlink("/etc/systemd/system/multi-user.target.wants/agent@\(module.id).service")
        } else {
            unlink(module.root + "/systemd/user/default.target.wants/agent.service")
        }
        guard !module.rootfull, try await userExists(module.id) else { return }
        // Whatever the user still runs (its agent started by hand, a leftover child) would stop userdel.
        _ = try await ExternalTool.run("/usr/bin/pkill", ["-TERM", "-u", module.id])
        for _ in 0..<50 {
            if try await ExternalTool.run("/usr/bin/pgrep", ["-u", module.id]).status != 0 { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        _ = try await ExternalTool.run("/usr/bin/pkill", ["-KILL", "-u", module.id])
        try? await Task.sleep(for: .milliseconds(200))
    }

    public func chown(_ path: String, to user: String) async throws(LifecycleError) {
        try await ExternalTool.check("/usr/bin/chown", ["-R", "\(user):\(user)", path])
    }
}

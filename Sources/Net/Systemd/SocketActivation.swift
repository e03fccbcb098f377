import CSystemd

/// systemd socket activation (`sd_listen_fds`).
public enum SystemdSocketActivation {
    /// File descriptors passed by systemd for this process (empty without
    /// socket activation). The environment is left in place.
    public static func listenFDs() -> [Int32] {
        let n = sd_listen_fds(0)
        guard n > 0 else { return [] }
        return (0..<n).map { SD_LISTEN_FDS_START + Int32($0) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Net

/// Lines for the agent's command pipe (fd 3) when running as an action step (AGENT_COMFD set).
enum StepPipe {
    static func send(_ line: String) {
        guard environmentValue("AGENT_COMFD") != nil else { return }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(3, $0.baseAddress, $0.count) }
    }
}

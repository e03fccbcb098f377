#if canImport(Glibc)
import Glibc
#endif

/// The few file operations the agent needs, on libc (the agent runs once
/// per module: it stays off Foundation to stay small).
enum FileSystem {
    /// The whole file, or the errno text when it cannot be read.
    static func read(_ path: String, limit: Int = 64 << 20) -> Result<[UInt8], FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(FileError(path: path, errno: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(FileError(path: path, errno: errno))
            }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return .success(out)
    }

    /// The file as UTF-8 text (invalid bytes replaced).
    static func readText(_ path: String) -> Result<String, FileError> {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Names in a directory (no `.`/`..`), with whether each is a directory; nil when unreadable.
    static func list(_ path: String) -> [(name: String, isDirectory: Bool)]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var out: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard stat(path + "/" + name, &st) == 0 else { continue }  // dangling link
            let type = st.st_mode & S_IFMT
            if type == S_IFDIR { out.append((name, true)) } else if type == S_IFREG { out.append((name, false)) }
        }
        return out
    }

    /// Nil when `path` is an executable regular file, else why it cannot run.
    static func whyNotExecutable(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return "stat \(path): \(errorText(errno))" }
        guard st.st_mode & S_IFMT == S_IFREG else { return "\(path) is not a regular file" }
        guard access(path, X_OK) == 0 else { return "fork/exec \(path): \(errorText(errno))" }
        return nil
    }

    /// `strerror` in the lower-case style of the platform's logs ("permission denied").
    static func errorText(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}

/// A file that could not be read.
struct FileError: Error, Sendable, CustomStringConvertible {
    let path: String
    let errno: Int32
    var description: String { "open \(path): \(FileSystem.errorText(errno))" }
}

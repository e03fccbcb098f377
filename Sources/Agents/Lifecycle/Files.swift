#if canImport(Glibc)
import Glibc
#endif

/// The few file operations lifecycle steps need, with errors that name the path.
enum Files {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func makeDirectory(_ path: String, mode: mode_t) throws(LifecycleError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, mode) != 0 && errno != EEXIST {
                throw .system("mkdir \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func read(_ path: String) throws(LifecycleError) -> [UInt8] {
        switch FileSystem.read(path) {
        case .success(let bytes): return bytes
        case .failure(let error): throw .system("read \(path): \(error)")
        }
    }

    /// Writes `bytes` to `path` with `mode`, atomically (temporary file + rename).
    static func write(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(LifecycleError) {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("create \(temporary): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { bytes.isEmpty ? 0 : Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, Glibc.rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw .system("write \(path): \(why)")
        }
    }

    static func symlink(_ target: String, at path: String) throws(LifecycleError) {
        unlink(path)
        guard Glibc.symlink(target, path) == 0 else { throw .system("symlink \(path): \(String(cString: strerror(errno)))") }
    }

    static func rename(_ from: String, _ to: String) throws(LifecycleError) {
        guard Glibc.rename(from, to) == 0 else { throw .system("rename \(from) to \(to): \(String(cString: strerror(errno)))") }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The `.lock` file in `log.dirs`, held with an exclusive `flock` for the broker's lifetime, so a
/// second broker started on the same directory stops at once instead of corrupting the logs
/// (Kafka locks `log.dirs/.lock` the same way). The file holds the owner's process id for the
/// error message; the lock, not the file, is what counts, so a stale file after a crash is fine.
final class LogDirectoryLock: @unchecked Sendable {
    static let fileName = ".lock"
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Takes the lock of `directory` (which must exist).
    /// - Throws: ``BrokerStartupError/logDirLocked(path:holder:)`` when another process holds it,
    ///   ``BrokerStartupError/logDirNotWritable(path:reason:)`` when the file cannot be opened.
    static func acquire(directory: String) throws -> LogDirectoryLock {
        let path = directory + "/" + fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BrokerStartupError.logDirNotWritable(path: directory, reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let holder = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingWhitespace() : ""
            if reason == EWOULDBLOCK {
                throw BrokerStartupError.logDirLocked(path: directory, holder: holder)
            }
            throw BrokerStartupError.logDirNotWritable(path: directory, reason: "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return LogDirectoryLock(descriptor: fd)
    }

    /// Releases the lock (also released by the kernel when the process exits).
    func release() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

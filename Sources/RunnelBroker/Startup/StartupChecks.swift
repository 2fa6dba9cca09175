#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// Checks run before the broker opens its logs. Each failure names its fix
/// (``BrokerStartupError``); resource limits that are merely low produce a warning with numbers.
enum StartupChecks {
    /// `log.dirs` must exist (it is created), be a writable directory and have at least
    /// `runnel.log.dirs.min.free.bytes` free.
    static func checkLogDirectory(_ directory: String, minFreeBytes: Int64) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw BrokerStartupError.logDirNotWritable(path: directory, reason: "cannot create it: \(Self.reason(error))")
        }
        let probe = directory + "/.runnel-write-check-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BrokerStartupError.logDirNotWritable(path: directory, reason: String(cString: strerror(errno)))
        }
        let wrote = write(fd, "ok", 2)
        let writeErrno = errno
        close(fd)
        unlink(probe)
        guard wrote == 2 else {
            throw BrokerStartupError.logDirNotWritable(path: directory, reason: String(cString: strerror(writeErrno)))
        }
        var stats = statvfs()
        if statvfs(directory, &stats) == 0 {
            let free = Int64(stats.f_bavail) * Int64(stats.f_frsize)
            if free < minFreeBytes {
                throw BrokerStartupError.logDirFull(path: directory, freeBytes: free, neededBytes: minFreeBytes)
            }
        }
    }

    /// Warns when the open-file limit or `vm.max_map_count` is below what a broker with many
    /// partitions needs (each segment holds a file and two memory-mapped indexes open).
    static func warnAboutLimits(logger: Logger) {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < 65_536 {
            logger.warning("low open-file limit: each connection and segment file takes one; raise it (ulimit -n 100000, or LimitNOFILE in the systemd unit)",
                           metadata: ["nofile.soft": "\(limit.rlim_cur)", "nofile.hard": "\(limit.rlim_max)", "recommended": "100000"])
        }
        if let text = try? String(contentsOfFile: "/proc/sys/vm/max_map_count", encoding: .utf8),
           let count = Int(text.trimmingWhitespace()), count < 262_144 {
            logger.warning("low vm.max_map_count: each segment maps two index files; raise it (sysctl -w vm.max_map_count=262144)",
                           metadata: ["vm.max_map_count": "\(count)", "recommended": "262144"])
        }
    }

    private static func reason(_ error: any Error) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return error.localizedDescription
    }
}

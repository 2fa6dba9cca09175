import LogStorage
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What a log directory says about its last shutdown: the clean-shutdown marker
/// (`.kafka_cleanshutdown`, Kafka's name) and the per-partition recovery points and log start
/// offsets from their checkpoint files.
struct LogDirectoryState {
    static let cleanShutdownFile = ".kafka_cleanshutdown"

    var cleanShutdown: Bool
    /// By partition directory name, `<topic>-<partition>`.
    var recoveryPoints: [String: Int64]
    var logStartOffsets: [String: Int64]
    /// High watermarks from `replication-offset-checkpoint`.
    var highWatermarks: [String: Int64] = [:]

    static func load(directory: FilePath) throws -> LogDirectoryState {
        let marker = access(directory.appending(cleanShutdownFile).string, F_OK) == 0
        // A corrupt checkpoint is not trusted: everything is recovered instead.
        let recovery = (try? OffsetCheckpointFile.read(directory: directory, name: OffsetCheckpointFile.recoveryPoint)) ?? [:]
        let starts = (try? OffsetCheckpointFile.read(directory: directory, name: OffsetCheckpointFile.logStartOffset)) ?? [:]
        let highWatermarks = (try? OffsetCheckpointFile.read(directory: directory, name: OffsetCheckpointFile.replicationOffset)) ?? [:]
        return LogDirectoryState(cleanShutdown: marker, recoveryPoints: recovery, logStartOffsets: starts, highWatermarks: highWatermarks)
    }

    static func writeCleanShutdownMarker(directory: FilePath) throws {
        let path = directory.appending(cleanShutdownFile).string
        guard let file = fopen(path, "w") else {
            throw StorageError.io(operation: "create", path: path, errno: .init(rawValue: errno))
        }
        fputs("{\"version\":0,\"brokerEpoch\":-1}\n", file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        let dir = open(directory.string, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    static func removeCleanShutdownMarker(directory: FilePath) throws {
        let path = directory.appending(cleanShutdownFile).string
        if unlink(path) != 0 && errno != ENOENT {
            throw StorageError.io(operation: "unlink", path: path, errno: .init(rawValue: errno))
        }
        let dir = open(directory.string, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}

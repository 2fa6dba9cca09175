import KafkaProtocol
import LogStorage
import SystemPackage

/// One entry of `log.dirs` (JBOD, KIP-112 and KIP-858): its path, its `directory.id` from
/// `meta.properties`, its ``LogDirectoryHealth`` (free space and offline state, shared by every
/// partition log in it) and what it said about the last shutdown when the broker started.
///
/// Each directory keeps its own checkpoint files (`recovery-point-offset-checkpoint`,
/// `log-start-offset-checkpoint`, `replication-offset-checkpoint`, `cleaner-offset-checkpoint`)
/// and its own clean-shutdown marker, each listing only the partitions stored in it, so a failed
/// directory takes nothing of the others with it.
final class LogDirectory: Sendable, CustomStringConvertible {
    /// The directory as configured in `log.dirs`.
    let path: FilePath
    /// `directory.id` (KIP-858), in BrokerRegistration `log_dirs` and BrokerHeartbeat `offline_log_dirs`.
    let directoryID: UUIDBytes
    /// Free space and I/O health: appends refused while low on space, everything refused once offline.
    let health: LogDirectoryHealth
    /// Recovery points, log start offsets, high watermarks and the clean-shutdown flag read at start.
    let startState: LogDirectoryState
    /// Whether the directory had no `meta.properties` at start (nothing to recover).
    let fresh: Bool
    /// Writes its offset checkpoint files off the concurrency pool, in snapshot order.
    let checkpoints: CheckpointWriter

    init(path: FilePath, directoryID: UUIDBytes, health: LogDirectoryHealth, startState: LogDirectoryState, fresh: Bool) {
        self.path = path
        self.directoryID = directoryID
        self.health = health
        self.startState = startState
        self.fresh = fresh
        self.checkpoints = CheckpointWriter(directory: path)
    }

    /// Whether an I/O error took the directory offline.
    var isOffline: Bool { health.isOffline }

    var description: String { path.string }
}

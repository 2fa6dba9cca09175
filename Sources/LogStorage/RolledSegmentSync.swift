#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The fsyncs a roll leaves for later when its log defers them (``Log/LoadOptions/defersRollSync``):
/// the rolled segment's `.log`, `.index` and `.timeindex`, the producer state snapshot written at
/// the roll, and the partition directory (the new segment's files and the snapshot's rename).
///
/// Done inline, a roll waited for the whole segment's writeback on the log owner's thread: on a
/// busy disk 0.2-1 s, during which every produce and fetch of the partition waited (end-to-end
/// latency spikes in benchmark row 8). Kafka flushes a rolled segment from its scheduler for the
/// same reason. Until the sync has run, the recovery point stays where it was, so a crash
/// meanwhile recovers (rescans) the rolled segment; ``LogFlusher`` runs it before it syncs any
/// later offset, so an acknowledgement that waits for durability never skips it.
public final class RolledSegmentSync: Sendable {
    /// The new active segment's base offset: once this has run, every offset below it is durable.
    public let nextBaseOffset: Int64
    private let files: [SegmentSyncHandle]
    private let snapshot: FilePath?
    private let directory: FilePath

    init(nextBaseOffset: Int64, files: [SegmentSyncHandle], snapshot: FilePath?, directory: FilePath) {
        self.nextBaseOffset = nextBaseOffset
        self.files = files
        self.snapshot = snapshot
        self.directory = directory
    }

    /// Runs the fsyncs. Blocks for as long as the disk takes: call it on a thread pool.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` from the first segment file that failed
    ///   (EIO). The snapshot and the directory are synced on a best-effort basis: a snapshot
    ///   lost in a crash only makes recovery replay more of the log.
    public func sync() throws(StorageError) {
        for file in files { try file.sync() }
        if let snapshot {
            let fd = Glibc.open(snapshot.string, O_RDONLY)
            if fd >= 0 {
                _ = Glibc.fsync(fd)
                _ = Glibc.close(fd)
            }
        }
        syncDirectory(directory)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// What the log cleaner needs to know about one partition log, taken on the log's owner and then
/// handed to ``LogCleaner/clean(_:nowMs:maxMapBytes:isCancelled:)`` on another thread.
///
/// It names files, not ``LogSegment`` objects: the cleaner opens its own descriptors, so the owner
/// may keep appending, reading, rolling and deleting segments while the cleaner works. What the
/// owner changed in the meantime is detected by ``Log/swapIn(_:)``.
public struct CleanerSnapshot: Sendable {
    /// One inactive segment as it was when the snapshot was taken.
    public struct Segment: Sendable, Equatable {
        public var baseOffset: Int64
        /// The next segment's base offset (an inactive segment ends where the next one starts).
        public var nextOffset: Int64
        /// Bytes in the `.log` file; inactive segments never change size.
        public var sizeBytes: Int64
        /// The `.log` file.
        public var path: FilePath
    }

    /// The partition directory.
    public var directory: FilePath
    public var config: LogConfig
    /// The inactive segments below ``firstUncleanableOffset``, oldest first.
    public var segments: [Segment]
    public var logStartOffset: Int64
    /// Offsets below this one were cleaned before (the `cleaner-offset-checkpoint` value, clamped to
    /// the log).
    public var firstDirtyOffset: Int64
    /// The end of the cleanable dirty range: the active segment's base offset, or earlier the base
    /// of the first segment holding a record younger than `min.compaction.lag.ms`.
    public var firstUncleanableOffset: Int64
    public var activeSegmentBaseOffset: Int64
    /// Bytes of the segments wholly below ``firstDirtyOffset``.
    public var cleanBytes: Int64
    /// Bytes of the segments in the dirty range [``firstDirtyOffset``, ``firstUncleanableOffset``).
    public var dirtyBytes: Int64

    /// dirty bytes / (clean + dirty bytes), Kafka's `LogToClean.cleanableRatio`.
    public var dirtyRatio: Double {
        let total = cleanBytes + dirtyBytes
        return total > 0 ? Double(dirtyBytes) / Double(total) : 0
    }
}

/// The output of one cleaning: `.cleaned` segment files beside the log, not yet visible to it.
/// ``Log/swapIn(_:)`` makes them the log's segments; ``discard()`` removes them.
public struct CleanedLog: Sendable {
    /// One cleaned segment and the consecutive segments it replaces.
    public struct Group: Sendable {
        /// The replaced segments, oldest first; the cleaned segment has the first one's base offset.
        public var replaced: [CleanerSnapshot.Segment]
        /// Bytes in the cleaned `.log`.
        public var cleanedBytes: Int64
        public var baseOffset: Int64 { replaced[0].baseOffset }
        /// Where the replaced range ends (the next segment's base offset).
        public var endOffset: Int64 { replaced[replaced.count - 1].nextOffset }
    }

    /// Counters for the log line that reports a cleaning.
    public struct Stats: Sendable, Equatable {
        public var bytesRead: Int64 = 0
        public var bytesWritten: Int64 = 0
        public var recordsRead: Int = 0
        public var recordsKept: Int = 0
        /// Records dropped because a later record has the same key.
        public var recordsSuperseded: Int = 0
        /// Tombstones dropped because their delete horizon passed.
        public var tombstonesDropped: Int = 0
        /// Records without a key (not allowed on a compacted topic, but possible after a policy change).
        public var keylessDropped: Int = 0
        public var batchesRead: Int = 0
        public var batchesRewritten: Int = 0
        public var batchesDropped: Int = 0
        /// Distinct keys in the dirty range.
        public var keys: Int = 0
        public var durationMs: Int64 = 0
        public var recordsDropped: Int { recordsRead - recordsKept }
    }

    public var directory: FilePath
    public var groups: [Group]
    /// Where the cleaned dirty range started.
    public var firstDirtyOffset: Int64
    /// The end of the cleaned dirty range: the next cleaning's first dirty offset.
    public var endOffset: Int64
    public var stats: Stats

    /// Segments replaced across all groups.
    public var segmentsReplaced: Int { groups.reduce(0) { $0 + $1.replaced.count } }

    /// Removes the `.cleaned` files of this cleaning (when the swap was refused).
    public func discard() {
        for group in groups {
            for suffix in CleanedLog.fileSuffixes {
                _ = unlink(directory.appending(LogSegment.fileName(baseOffset: group.baseOffset, suffix: suffix + ".cleaned")).string)
            }
        }
    }

    /// The files of one segment, log last.
    static let fileSuffixes = [".index", ".timeindex", ".log"]
}

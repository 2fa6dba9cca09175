import KafkaProtocol
import Logging
import SystemPackage

extension Log {
    /// Why segments were deleted.
    public enum DeletionReason: String, Sendable {
        case retentionTime = "retention.ms"
        case retentionSize = "retention.bytes"
        case logStartOffset = "log start offset"
    }

    /// Deletes whole segments that retention allows to go (Kafka `UnifiedLog.deleteOldSegments`):
    /// segments entirely below the log start offset; then, with `cleanup.policy` containing
    /// `delete`, the oldest segments whose largest timestamp is older than `retention.ms`, and the
    /// oldest segments while the log is larger than `retention.bytes`. Only a prefix of the log is
    /// deleted, never data at or above `highWatermark`. When the active segment itself is due it is
    /// rolled first, so the log always keeps an active segment.
    ///
    /// The time rule uses a segment's largest record timestamp, except when that lies in the future
    /// of the segment's roll time (its file's modification time): then the roll time counts, so one
    /// producer with a bad clock can neither keep a segment forever nor expire data early.
    /// Deleted files are renamed `.deleted` and removed after `file.delete.delay.ms` by
    /// ``removeDeletedFiles(nowMs:)``.
    /// - Returns: how many segments were deleted, per reason.
    @discardableResult
    public func deleteOldSegments(highWatermark: Int64) throws -> [DeletionReason: Int] {
        var result: [DeletionReason: Int] = [:]
        let now = clock()
        let breached = try deleteSegments(reason: .logStartOffset, highWatermark: highWatermark) { segment, next in
            next.map { $0.baseOffset <= self.logStartOffset } ?? false
        }
        if breached > 0 { result[.logStartOffset] = breached }
        guard config.deleteEnabled else { return result }
        if config.retentionMs >= 0 {
            let retentionMs = config.retentionMs
            let expired = try deleteSegments(reason: .retentionTime, highWatermark: highWatermark) { segment, _ in
                now - self.retentionTimestamp(of: segment) > retentionMs
            }
            if expired > 0 { result[.retentionTime] = expired }
        }
        if config.retentionBytes >= 0 {
            var excess = sizeBytes - config.retentionBytes
            let removed = try deleteSegments(reason: .retentionSize, highWatermark: highWatermark) { segment, _ in
                guard excess - segment.sizeBytes >= 0 else { return false }
                excess -= segment.sizeBytes
                return true
            }
            if removed > 0 { result[.retentionSize] = removed }
        }
        return result
    }

    /// The timestamp the time-retention rule applies to for `segment`.
    private func retentionTimestamp(of segment: LogSegment) -> Int64 {
        let rollTime = segment.isActive ? clock() : segment.lastModifiedMs()
        guard segment.largestTimestamp >= 0 else { return rollTime }
        if segment.largestTimestamp > rollTime {
            logger.warning("segment's largest timestamp is in the future of its roll time; retention uses the roll time",
                           metadata: ["dir": "\(directory)", "baseOffset": "\(segment.baseOffset)",
                                      "largestTimestamp": "\(segment.largestTimestamp)", "rollTime": "\(rollTime)"])
            return rollTime
        }
        return segment.largestTimestamp
    }

    /// Deletes the longest prefix of segments for which `shouldDelete(segment, next)` holds and
    /// that ends below `highWatermark`; an empty active segment is never deleted.
    private func deleteSegments(reason: DeletionReason, highWatermark: Int64,
                                _ shouldDelete: (LogSegment, LogSegment?) -> Bool) throws -> Int {
        var count = 0
        for (i, segment) in segments.enumerated() {
            let next = i + 1 < segments.count ? segments[i + 1] : nil
            let upper = next?.baseOffset ?? logEndOffset
            if next == nil && segment.sizeBytes == 0 { break }
            guard upper <= highWatermark, shouldDelete(segment, next) else { break }
            count += 1
        }
        guard count > 0 else { return 0 }
        if count == segments.count { try roll() }
        let doomed = Array(segments.prefix(count))
        segments.removeFirst(count)
        logStartOffset = max(logStartOffset, segments[0].baseOffset)
        let deadline = clock() + config.fileDeleteDelayMs
        for segment in doomed {
            pendingDeletes.append((segment.markDeleted(), deadline))
        }
        logger.info("deleted segments", metadata: ["dir": "\(directory)", "reason": "\(reason.rawValue)", "segments": "\(count)",
                                                    "bytes": "\(doomed.reduce(0) { $0 + $1.sizeBytes })",
                                                    "logStartOffset": "\(logStartOffset)"])
        removeDeletedFiles(nowMs: clock())
        return count
    }

    /// DeleteRecords (KIP-107): moves the log start offset to `offset` (never backwards) and
    /// deletes the segments that lie entirely below it.
    /// - Parameter offset: the new log start offset; must be at most the log end offset.
    /// - Returns: the log start offset afterwards (the partition's new low watermark).
    /// - Throws: ``StorageError/offsetOutOfRange(requested:logStartOffset:logEndOffset:)`` past the end.
    public func deleteRecords(beforeOffset offset: Int64) throws -> Int64 {
        guard offset >= 0, offset <= logEndOffset else {
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        }
        if offset > logStartOffset {
            logStartOffset = offset
            _ = try deleteSegments(reason: .logStartOffset, highWatermark: logEndOffset) { _, next in
                next.map { $0.baseOffset <= offset } ?? false
            }
        }
        return logStartOffset
    }
}

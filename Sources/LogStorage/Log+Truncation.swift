#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension Log {
    /// Removes every batch at or after `offset`, as a follower does when its log diverges from a
    /// new leader's (Kafka `UnifiedLog.truncateTo`, KIP-101/KIP-279). Batches are never split: the
    /// new log end offset is the base offset of the batch holding `offset`, so it can be below
    /// `offset`. Whole segments past it are deleted, the leader epoch history loses the epochs that
    /// start at or after the new end (`leader-epoch-checkpoint` is rewritten), the producer state is
    /// rebuilt from the newest snapshot at or below the new end, and the recovery point moves back
    /// if it was past it.
    ///
    /// When `offset` is at or below the log start offset the whole log is removed and the next
    /// append lands at `offset` (Kafka `truncateFullyAndStartAt`).
    /// - Parameter offset: the first offset to remove; at or past the log end nothing changes.
    /// - Returns: the log end offset afterwards.
    /// - Throws: ``StorageError`` on I/O failure.
    @discardableResult
    public func truncate(to offset: Int64) throws -> Int64 {
        guard offset < logEndOffset else { return logEndOffset }
        if offset <= logStartOffset || offset <= segments[0].baseOffset {
            return try truncateFully(startingAt: max(offset, 0))
        }
        var removed: [LogSegment] = []
        while segments.count > 1, segments[segments.count - 1].baseOffset >= offset {
            removed.append(segments.removeLast())
        }
        let last = segments[segments.count - 1]
        try last.makeActive()
        let cut = try last.truncate(to: offset)
        for segment in removed {
            for path in segment.markDeleted() { _ = unlink(path.string) }
        }
        forgetOpenSegments(removed.map(\.baseOffset))
        try afterTruncation()
        logger.info("truncated log", metadata: ["dir": "\(directory)", "requested": "\(offset)", "logEndOffset": "\(logEndOffset)",
                                                 "segments.deleted": "\(removed.count)",
                                                 "bytes": "\(cut + removed.reduce(0) { $0 + $1.sizeBytes })"])
        return logEndOffset
    }

    /// Deletes every segment and starts an empty one at `offset`, which becomes the log start
    /// offset: what a follower does when the leader no longer has the records it needs
    /// (Kafka `truncateFullyAndStartAt`).
    /// - Returns: the log end offset afterwards (`offset`).
    /// - Throws: ``StorageError`` on I/O failure.
    @discardableResult
    public func truncateFully(startingAt offset: Int64) throws -> Int64 {
        let removed = segments
        let bytes = removed.reduce(0) { $0 + $1.sizeBytes }
        for segment in removed {
            for path in segment.markDeleted() { _ = unlink(path.string) }
        }
        forgetOpenSegments(removed.map(\.baseOffset))
        segments = [try LogSegment.create(directory: directory, baseOffset: offset, config: config, nowMs: clock(),
                                          fileOperations: fileOperations)]
        logStartOffset = offset
        try afterTruncation()
        logger.info("truncated log fully", metadata: ["dir": "\(directory)", "logStartOffset": "\(offset)", "bytes": "\(bytes)"])
        return logEndOffset
    }

    private func afterTruncation() throws {
        let end = logEndOffset
        forgetCorruptions(from: end)
        if recoveryPoint > end { lowerRecoveryPoint(to: end) }
        var cache = leaderEpochCache
        cache.truncate(from: end)
        if cache != leaderEpochCache {
            replaceLeaderEpochCache(cache)
            try cache.write(to: directory)
        }
        try loadProducerState()
    }
}

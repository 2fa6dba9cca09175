import DequeModule

/// The replicated log as one node holds it: an optional snapshot covering every offset below
/// `startOffset`, then the entries from `startOffset` to the log end offset.
///
/// `RaftNode` keeps this copy in memory and changes it only through `PersistAction`s, which the driver
/// mirrors on disk; `RaftPersistentState` holds the disk side with the same type, so a restarted node
/// is handed back exactly what was persisted.
///
/// Alongside the entries the log keeps KRaft's leader-epoch cache (Kafka's `leader-epoch-checkpoint`,
/// KIP-101): the first offset of every epoch present, which answers "where does epoch E end" for
/// Fetch validation (KIP-595 "Fetch", `DivergingEpoch`) and for follower truncation.
public struct RaftLog<Payload: Sendable>: Sendable {
    /// The latest snapshot, covering every offset below `snapshot.id.offset`.
    public private(set) var snapshot: RaftSnapshot?
    /// The offset of the first entry held (the snapshot's end offset when entries were compacted away,
    /// otherwise 0).
    public private(set) var startOffset: Offset
    /// The offset the next entry will take (exclusive end of the log).
    public private(set) var endOffset: Offset
    private var storage: Deque<LogEntry<Payload>>
    /// (first offset, epoch) of every epoch present in `storage`, ascending.
    private var epochStarts: [OffsetAndEpoch]

    /// An empty log: no snapshot, no entries, next append at offset 0.
    public init() {
        self.snapshot = nil
        self.startOffset = 0
        self.endOffset = 0
        self.storage = []
        self.epochStarts = []
    }

    /// A log rebuilt from storage after a restart.
    /// - Parameters:
    ///   - snapshot: the latest snapshot on disk, if any.
    ///   - startOffset: the offset of the first entry on disk (or of the next append when there are none).
    ///   - entries: the entries on disk, contiguous from `startOffset`, with non-decreasing epochs.
    /// - Throws: `RaftStateError.invalidLog` when the entries are not contiguous from `startOffset` or
    ///   their epochs decrease.
    public init(snapshot: RaftSnapshot?, startOffset: Offset, entries: [LogEntry<Payload>]) throws(RaftStateError) {
        self.init()
        guard startOffset >= 0 else { throw .invalidLog("negative start offset \(startOffset)") }
        self.snapshot = snapshot
        self.startOffset = startOffset
        self.endOffset = startOffset
        for entry in entries {
            guard entry.offset == endOffset else {
                throw .invalidLog("entry at offset \(entry.offset) where \(endOffset) was expected")
            }
            guard entry.epoch >= (epochStarts.last?.epoch ?? 0) else {
                throw .invalidLog("epoch \(entry.epoch) at offset \(entry.offset) after epoch \(lastEpoch)")
            }
            append(entry)
        }
    }

    /// The number of entries held (not counting what the snapshot covers).
    public var count: Int { storage.count }

    /// The epoch of the last entry, else of the snapshot, else 0.
    public var lastEpoch: LeaderEpoch { epochStarts.last?.epoch ?? snapshot?.id.epoch ?? 0 }

    /// The log end offset and last epoch: what Fetch sends as `FetchOffset`/`LastFetchedEpoch` and
    /// Vote as `LastOffset`/`LastOffsetEpoch` (KIP-595).
    public var endOffsetAndEpoch: OffsetAndEpoch { OffsetAndEpoch(offset: endOffset, epoch: lastEpoch) }

    /// Every entry held, in offset order.
    public var entries: [LogEntry<Payload>] { Array(storage) }

    /// The entry at `offset`, or `nil` when it is compacted into the snapshot or past the end.
    /// - Parameter offset: the offset to look up.
    public func entry(at offset: Offset) -> LogEntry<Payload>? {
        guard offset >= startOffset, offset < endOffset else { return nil }
        return storage[Int(startOffset.distance(to: offset))]
    }

    /// Up to `maxCount` entries starting at `offset` (empty when `offset` is at or past the end).
    /// - Parameters:
    ///   - offset: the first offset wanted; at least `startOffset`.
    ///   - maxCount: the most entries to return.
    public func entries(from offset: Offset, maxCount: Int) -> [LogEntry<Payload>] {
        guard offset < endOffset, offset >= startOffset else { return [] }
        let first = Int(startOffset.distance(to: offset))
        let last = min(storage.count, first + maxCount)
        return Array(storage[first..<last])
    }

    /// The epoch of the entry just below `offset` (`offset` being an exclusive end), looking into the
    /// snapshot id when that entry is compacted; `nil` when unknown.
    /// - Parameter end: an exclusive end offset.
    public func epoch(endingAt end: Offset) -> LeaderEpoch? {
        if end == 0 { return 0 }
        if let entry = entry(at: end - 1) { return entry.epoch }
        if let snapshot, snapshot.id.offset == end { return snapshot.id.epoch }
        return nil
    }

    /// Where the largest epoch not above `epoch` ends in this log: KRaft's `endOffsetForEpoch`, the
    /// answer a leader returns as `DivergingEpoch` (KIP-595 "Fetch", after KIP-101/KIP-279).
    /// - Parameter epoch: the epoch asked about.
    /// - Returns: (exclusive end offset, epoch found); epoch 0 at `startOffset` when no epoch at or
    ///   below `epoch` is known.
    public func endOffset(forEpoch epoch: LeaderEpoch) -> OffsetAndEpoch {
        if let index = epochStarts.lastIndex(where: { $0.epoch <= epoch }) {
            let end = index + 1 < epochStarts.count ? epochStarts[index + 1].offset : endOffset
            return OffsetAndEpoch(offset: end, epoch: epochStarts[index].epoch)
        }
        if let snapshot, snapshot.id.epoch <= epoch {
            return OffsetAndEpoch(offset: startOffset, epoch: snapshot.id.epoch)
        }
        return OffsetAndEpoch(offset: startOffset, epoch: 0)
    }

    /// The leader's check of a follower's position (KIP-595 "Fetch"; KRaft's
    /// `validateOffsetAndEpoch`).
    /// - Parameters:
    ///   - fetchOffset: the follower's log end offset.
    ///   - lastFetchedEpoch: the epoch of the follower's last entry (or snapshot).
    /// - Returns: `.valid` when the follower's log is a prefix of this one, `.diverging` with where
    ///   the follower should truncate to, or `.snapshot` when the position is below this log's start.
    public func validateFetch(fetchOffset: Offset, lastFetchedEpoch: LeaderEpoch) -> FetchValidation {
        if let snapshot {
            // Below the start, or at/after it with an epoch older than the snapshot's: the follower's
            // history diverges inside the compacted prefix, which only the snapshot can repair.
            if fetchOffset < startOffset
                || (fetchOffset == startOffset && lastFetchedEpoch != snapshot.id.epoch)
                || (fetchOffset > 0 && lastFetchedEpoch < snapshot.id.epoch)
            {
                return .snapshot(snapshot.id)
            }
        }
        if fetchOffset == 0 { return .valid }
        let end = endOffset(forEpoch: lastFetchedEpoch)
        if end.epoch != lastFetchedEpoch || end.offset < fetchOffset { return .diverging(end) }
        return .valid
    }

    /// Where a follower truncates on a `DivergingEpoch` answer (KRaft's `truncateToEndOffset`): to the
    /// end of that epoch in both logs if this log has the epoch, else to the end of the largest local
    /// epoch below it; never into the snapshot.
    /// - Parameter diverging: the leader's (end offset, epoch).
    /// - Returns: the offset to truncate from.
    public func truncationOffset(for diverging: OffsetAndEpoch) -> Offset {
        let offset: Offset
        if diverging.epoch == 0 {
            offset = diverging.offset
        } else {
            let local = endOffset(forEpoch: diverging.epoch)
            offset = local.epoch == diverging.epoch ? min(local.offset, diverging.offset) : local.offset
        }
        return min(max(offset, startOffset), endOffset)
    }

    // MARK: Mutations (the meaning of each PersistAction)

    /// Applies one log action; `setQuorumState` does not concern the log and is ignored.
    mutating func apply(_ action: PersistAction<Payload>) {
        switch action {
        case .setQuorumState:
            break
        case .appendEntries(let entries):
            for entry in entries { append(entry) }
        case .truncateLog(let offset):
            truncate(from: offset)
        case .installSnapshot(let snapshot):
            self.snapshot = snapshot
        case .deleteLogPrefix(let offset):
            deletePrefix(before: offset)
        case .resetLog(let offset):
            storage.removeAll()
            epochStarts.removeAll()
            startOffset = offset
            endOffset = offset
        }
    }

    private mutating func append(_ entry: LogEntry<Payload>) {
        precondition(entry.offset == endOffset, "append at \(entry.offset) to a log ending at \(endOffset)")
        let lastEntryEpoch = epochStarts.last?.epoch
        precondition(lastEntryEpoch.map { entry.epoch >= $0 } ?? true,
                     "append of epoch \(entry.epoch) after epoch \(lastEpoch)")
        if lastEntryEpoch != entry.epoch {
            epochStarts.append(OffsetAndEpoch(offset: entry.offset, epoch: entry.epoch))
        }
        storage.append(entry)
        endOffset = endOffset + 1
    }

    private mutating func truncate(from offset: Offset) {
        precondition(offset >= startOffset, "truncation to \(offset) below the log start \(startOffset)")
        guard offset < endOffset else { return }
        storage.removeLast(Int(offset.distance(to: endOffset)))
        endOffset = offset
        while let last = epochStarts.last, last.offset >= offset { epochStarts.removeLast() }
    }

    private mutating func deletePrefix(before offset: Offset) {
        guard offset > startOffset else { return }
        if offset >= endOffset {
            storage.removeAll()
            epochStarts.removeAll()
            endOffset = offset
        } else {
            storage.removeFirst(Int(startOffset.distance(to: offset)))
            if let keep = epochStarts.lastIndex(where: { $0.offset <= offset }) {
                epochStarts.removeFirst(keep)
                epochStarts[0].offset = offset
            }
        }
        startOffset = offset
    }
}

/// The leader's verdict on a follower's fetch position (`RaftLog.validateFetch`).
public enum FetchValidation: Hashable, Sendable {
    /// The follower's log is a prefix of the leader's: send entries from the fetch offset.
    case valid
    /// The follower's last epoch ends earlier (or is unknown) here: tell it where to truncate.
    case diverging(OffsetAndEpoch)
    /// The position is inside the leader's snapshot: the follower must fetch the snapshot.
    case snapshot(SnapshotID)
}

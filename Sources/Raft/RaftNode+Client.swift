// The owner's API: proposals, snapshots, graceful resignation.
extension RaftNode {
    /// Appends `payload` to the log if this node leads (KRaft's `RaftClient.prepareAppend`/`schedule
    /// Append`). The entry is committed once the high watermark passes its offset; watch
    /// `RaftEffects.committed`. A leader that loses its epoch before that may lose the entry: propose
    /// again through the new leader if it does not show up as committed.
    ///
    /// The append is queued: take it with `flush()` (or the next `tick`/`handle`) and persist it.
    /// - Parameter payload: the owner's data.
    /// - Returns: the entry's offset, or `NotLeaderError` naming the leader this node knows.
    public mutating func propose(_ payload: Payload) -> Result<Offset, NotLeaderError> {
        guard case .leader = state else { return .failure(NotLeaderError(leaderHint: leader, epoch: epoch)) }
        let offset = log.endOffset
        persist(.appendEntries([LogEntry(offset: offset, epoch: epoch, record: .data(payload))]))
        maybeAdvanceHighWatermark()
        releaseParkedFetches()
        return .success(offset)
    }

    /// Records a snapshot of the owner's state after applying every entry below `offset`, and drops
    /// the log prefix it covers (KIP-630). Followers whose position falls below the new log start
    /// fetch the snapshot instead. Any role may snapshot.
    ///
    /// The snapshot and the prefix deletion are queued: take them with `flush()`.
    /// - Parameters:
    ///   - offset: exclusive end of the snapshot; at most `appliedOffset` (committed and delivered).
    ///   - payload: the owner's serialized state at `offset`.
    /// - Returns: the new snapshot's id.
    /// - Throws: `RaftSnapshotError` when `offset` was not yet applied or is not past the latest
    ///   snapshot.
    @discardableResult
    public mutating func snapshot(upTo offset: Offset, payload: [UInt8]) throws(RaftSnapshotError) -> SnapshotID {
        guard offset <= appliedOffset else { throw .notApplied(offset: offset, appliedOffset: appliedOffset) }
        let latest = log.snapshot?.id.offset ?? 0
        guard offset > latest, let lastEpoch = log.epoch(endingAt: offset) else {
            throw .notAfterLatestSnapshot(offset: offset, latestSnapshotEndOffset: latest)
        }
        let id = SnapshotID(offset: offset, epoch: lastEpoch)
        persist(.installSnapshot(RaftSnapshot(id: id, payload: payload)))
        persist(.deleteLogPrefix(before: offset))
        return id
    }

    /// Gives up leadership gracefully (KIP-595 "Graceful shutdown"): become Resigned and send
    /// EndQuorumEpoch with the voters ordered by how caught up they are, so the best one runs at once.
    /// Queued: take the messages with `flush()`.
    /// - Throws: `NotLeaderError` when this node does not lead.
    public mutating func resign() throws(NotLeaderError) {
        guard case .leader(let leaderState) = state else { throw NotLeaderError(leaderHint: leader, epoch: epoch) }
        becomeResigned(preferredSuccessors: successorsByFetchOffset(leaderState))
    }
}

/// A leader-only operation reached a node that does not lead.
public struct NotLeaderError: Error, Hashable, Sendable {
    /// The leader this node knows for `epoch`, if any: retry there.
    public var leaderHint: ReplicaID?
    /// This node's epoch.
    public var epoch: LeaderEpoch

    /// A not-leader answer.
    /// - Parameters:
    ///   - leaderHint: the known leader, if any.
    ///   - epoch: the current epoch.
    public init(leaderHint: ReplicaID?, epoch: LeaderEpoch) {
        self.leaderHint = leaderHint
        self.epoch = epoch
    }
}

/// Why `RaftNode.snapshot(upTo:payload:)` refused.
public enum RaftSnapshotError: Error, Hashable, Sendable {
    /// The owner has not applied up to `offset` yet (`appliedOffset` is the limit).
    case notApplied(offset: Offset, appliedOffset: Offset)
    /// A snapshot already covers `offset`.
    case notAfterLatestSnapshot(offset: Offset, latestSnapshotEndOffset: Offset)
}

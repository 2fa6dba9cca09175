/// One change the driver must make to stable storage before it sends any message of the same step.
///
/// The node keeps an in-memory copy of everything it asks to persist; `RaftPersistentState.apply(_:)`
/// is the reference meaning of each action, and a restarted node must be given exactly the state those
/// actions produced (possibly only a prefix of the last step's actions, if the process died while
/// persisting). Apply the actions in order; each must be durable (fsync'd) before the step's messages
/// leave, because the messages promise what was persisted: a granted vote, an accepted entry, a
/// leader's own log (KIP-595 "Persistent state", the `quorum-state` file and the log).
public enum PersistAction<Payload: Sendable>: Sendable {
    /// Overwrite the quorum-state file (epoch, leader, voted-for).
    case setQuorumState(QuorumStateRecord)
    /// Append entries at the log end; the first entry's offset equals the log end offset.
    case appendEntries([LogEntry<Payload>])
    /// Delete every entry at `offset` and above (divergence truncation, KIP-595 "Fetch"). `offset` is
    /// never below the log start nor below the high watermark.
    case truncateLog(from: Offset)
    /// Store `snapshot` as the latest snapshot; older snapshots may be deleted. Leaves the log alone.
    case installSnapshot(RaftSnapshot)
    /// Delete entries below `offset`, which a snapshot already covers. If `offset` is past the log end,
    /// the log becomes empty and its next append is at `offset`.
    case deleteLogPrefix(before: Offset)
    /// Delete every entry; the next append is at `startOffset` (a follower installing a snapshot from
    /// the leader, KIP-630: the whole local log is replaced).
    case resetLog(startOffset: Offset)
}

extension PersistAction: Equatable where Payload: Equatable {}

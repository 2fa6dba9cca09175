/// The persisted election state: KRaft's `quorum-state` file (`QuorumStateData`: `LeaderEpoch`,
/// `LeaderId`, `VotedId`; KIP-595 "Persistent state").
///
/// A voter's vote for an epoch must survive a restart, or it could vote twice in one epoch and two
/// leaders could be elected. The node emits `PersistAction.setQuorumState` on every durable transition
/// (new epoch, vote, leader discovered, elected); Prospective and Resigned are memory-only states, as
/// in KRaft.
public struct QuorumStateRecord: Hashable, Sendable, CustomStringConvertible {
    /// The latest epoch this node knows.
    public var leaderEpoch: LeaderEpoch
    /// The leader of `leaderEpoch`, if known (this node's own id if it was elected).
    public var leaderID: ReplicaID?
    /// The candidate this node voted for in `leaderEpoch`, if any (its own id as a candidate).
    public var votedID: ReplicaID?

    /// A quorum-state record.
    /// - Parameters:
    ///   - leaderEpoch: the current epoch.
    ///   - leaderID: the known leader of that epoch.
    ///   - votedID: the vote cast in that epoch.
    public init(leaderEpoch: LeaderEpoch, leaderID: ReplicaID? = nil, votedID: ReplicaID? = nil) {
        self.leaderEpoch = leaderEpoch
        self.leaderID = leaderID
        self.votedID = votedID
    }

    /// `epoch=E leader=L voted=V`.
    public var description: String {
        "epoch=\(leaderEpoch) leader=\(leaderID.map(String.init(describing:)) ?? "-") voted=\(votedID.map(String.init(describing:)) ?? "-")"
    }
}

/// Everything a node persists: the quorum state and the log with its snapshot. The driver rebuilds
/// this from disk to restart a node, and `apply(_:)` is the reference meaning of every
/// `PersistAction` (a simulated disk can simply be one of these).
public struct RaftPersistentState<Payload: Sendable>: Sendable {
    /// The quorum-state file; `nil` when it was never written (a brand-new node).
    public var quorumState: QuorumStateRecord?
    /// The log and its latest snapshot.
    public var log: RaftLog<Payload>

    /// Persistent state as read from disk.
    /// - Parameters:
    ///   - quorumState: the quorum-state file, or `nil` if absent.
    ///   - log: the log and snapshot.
    public init(quorumState: QuorumStateRecord? = nil, log: RaftLog<Payload> = RaftLog()) {
        self.quorumState = quorumState
        self.log = log
    }

    /// Applies one persist action, exactly as a durable store must.
    /// - Parameter action: the action, in the order the node emitted it.
    public mutating func apply(_ action: PersistAction<Payload>) {
        if case .setQuorumState(let record) = action {
            quorumState = record
        } else {
            log.apply(action)
        }
    }
}

/// Why a node could not start from the given configuration or persistent state.
public enum RaftStateError: Error, Hashable, Sendable {
    /// A configuration value is out of range; the text names it.
    case invalidConfig(String)
    /// The persisted log is not a valid log; the text says where.
    case invalidLog(String)
    /// The quorum-state file contradicts the configuration (KRaft refuses to start then too); the
    /// text says how.
    case inconsistentQuorumState(String)
}

/// KRaft's `LeaderChangeMessage` control record: the first entry every new leader appends in its epoch
/// (KIP-595 "Leader Election": "the leader will append a LeaderChangeMessage ... so that it can commit
/// an entry of its own epoch and advance the high watermark").
public struct LeaderChangeMessage: Hashable, Sendable {
    /// The new leader.
    public var leaderID: ReplicaID
    /// The voter set at the time of the election, sorted.
    public var voters: [ReplicaID]
    /// The voters that granted their vote to this leader, sorted (the leader included).
    public var grantingVoters: [ReplicaID]

    /// A leader-change record.
    /// - Parameters:
    ///   - leaderID: the elected leader.
    ///   - voters: the voter set, sorted.
    ///   - grantingVoters: who voted for the leader, sorted.
    public init(leaderID: ReplicaID, voters: [ReplicaID], grantingVoters: [ReplicaID]) {
        self.leaderID = leaderID
        self.voters = voters
        self.grantingVoters = grantingVoters
    }
}

/// What a log entry holds: the owner's data, or a control record written by the Raft layer itself.
public enum LogRecord<Payload: Sendable>: Sendable {
    /// A client proposal (`RaftNode.propose(_:)`).
    case data(Payload)
    /// The leader-change control record the leader appends when it is elected.
    case leaderChange(LeaderChangeMessage)
}

extension LogRecord: Equatable where Payload: Equatable {}
extension LogRecord: Hashable where Payload: Hashable {}

/// One entry of the replicated log: its offset, the epoch of the leader that appended it, and its
/// record. By the log matching property, an (offset, epoch) pair names the same entry, and the same
/// prefix, on every replica (KIP-595, following the Raft paper §5.3).
public struct LogEntry<Payload: Sendable>: Sendable {
    /// The entry's position.
    public var offset: Offset
    /// The epoch of the leader that appended the entry.
    public var epoch: LeaderEpoch
    /// The data or control record.
    public var record: LogRecord<Payload>

    /// An entry.
    /// - Parameters:
    ///   - offset: its position in the log.
    ///   - epoch: the appending leader's epoch.
    ///   - record: what it holds.
    public init(offset: Offset, epoch: LeaderEpoch, record: LogRecord<Payload>) {
        self.offset = offset
        self.epoch = epoch
        self.record = record
    }

    /// The owner's payload, or `nil` for a control record.
    public var payload: Payload? {
        if case .data(let payload) = record { return payload }
        return nil
    }
}

extension LogEntry: Equatable where Payload: Equatable {}
extension LogEntry: Hashable where Payload: Hashable {}

/// A state-machine snapshot (KIP-630): the owner's serialized state after applying every entry below
/// `id.offset`. KRaft stores these as `<endOffset>-<epoch>.checkpoint` files.
public struct RaftSnapshot: Hashable, Sendable {
    /// Exclusive end offset and the epoch of the last entry covered.
    public var id: SnapshotID
    /// The owner's serialized state; opaque to Raft.
    public var payload: [UInt8]

    /// A snapshot.
    /// - Parameters:
    ///   - id: end offset (exclusive) and epoch of the last covered entry.
    ///   - payload: the owner's serialized state.
    public init(id: SnapshotID, payload: [UInt8]) {
        self.id = id
        self.payload = payload
    }
}

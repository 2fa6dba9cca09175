/// The requests and responses nodes exchange: KRaft's RPCs (KIP-595, KIP-630, KIP-996) reduced to
/// the fields the protocol needs, for one partition (the metadata log). The transport is the driver's
/// business; messages may be lost, duplicated, delayed and reordered.
public enum RaftMessage<Payload: Sendable>: Sendable {
    /// Vote (API key 52): a Candidate asks for a binding vote, or a Prospective for a pre-vote.
    case vote(VoteRequest)
    /// The answer to `vote`.
    case voteResponse(VoteResponse)
    /// BeginQuorumEpoch (53): a new leader announces itself to the voters.
    case beginQuorumEpoch(BeginQuorumEpochRequest)
    /// The answer to `beginQuorumEpoch`.
    case beginQuorumEpochResponse(QuorumEpochResponse)
    /// EndQuorumEpoch (54): a resigning leader asks voters to elect a successor now.
    case endQuorumEpoch(EndQuorumEpochRequest)
    /// The answer to `endQuorumEpoch`.
    case endQuorumEpochResponse(QuorumEpochResponse)
    /// Fetch (1): a follower or observer pulls entries from the leader.
    case fetch(FetchRequest)
    /// The answer to `fetch`.
    case fetchResponse(FetchResponse<Payload>)
    /// FetchSnapshot (59): a follower pulls the leader's snapshot.
    case fetchSnapshot(FetchSnapshotRequest)
    /// The answer to `fetchSnapshot`.
    case fetchSnapshotResponse(FetchSnapshotResponse)
}

/// Errors a Raft response can carry; each is the Kafka error of the same name.
public enum RaftError: Hashable, Sendable {
    /// NOT_LEADER_OR_FOLLOWER (6): a leader-only request reached a node that does not lead the
    /// request's epoch; the response names the leader it knows.
    case notLeaderOrFollower
    /// FENCED_LEADER_EPOCH (74): the request's epoch is older than the receiver's.
    case fencedLeaderEpoch
    /// UNKNOWN_LEADER_EPOCH (75): the request's epoch is newer than the receiver's.
    case unknownLeaderEpoch
    /// SNAPSHOT_NOT_FOUND: the leader no longer has the requested snapshot; fetch again.
    case snapshotNotFound
    /// INCONSISTENT_VOTER_SET: a voter-only request from, or to, a node outside the voter set.
    case inconsistentVoterSet
}

/// Vote request (KIP-595 "Vote"; `PreVote` from KIP-996).
public struct VoteRequest: Hashable, Sendable {
    /// `ReplicaEpoch`: the candidate's new epoch, or a prospective's current epoch for a pre-vote
    /// (pre-votes do not bump the epoch).
    public var epoch: LeaderEpoch
    /// `LastOffsetEpoch` and `LastOffset`: the sender's log end, for the up-to-date check.
    public var lastEndOffsetAndEpoch: OffsetAndEpoch
    /// `PreVote`: true from a Prospective; the answer binds nobody and is not persisted.
    public var preVote: Bool

    /// A vote request.
    /// - Parameters:
    ///   - epoch: the epoch the vote is for.
    ///   - lastEndOffsetAndEpoch: the sender's log end offset and last epoch.
    ///   - preVote: whether this is a KIP-996 pre-vote.
    public init(epoch: LeaderEpoch, lastEndOffsetAndEpoch: OffsetAndEpoch, preVote: Bool) {
        self.epoch = epoch
        self.lastEndOffsetAndEpoch = lastEndOffsetAndEpoch
        self.preVote = preVote
    }
}

/// Vote response.
public struct VoteResponse: Hashable, Sendable {
    /// An error instead of a decision, if any.
    public var error: RaftError?
    /// The responder's epoch (after handling the request) and the leader it knows in it.
    public var epoch: LeaderEpoch
    /// The leader the responder knows in `epoch`, if any.
    public var leaderID: ReplicaID?
    /// Whether the (pre-)vote was granted.
    public var voteGranted: Bool
    /// Echo of the request's `PreVote`, so a late answer is not counted in the wrong election.
    public var preVote: Bool

    /// A vote response.
    /// - Parameters:
    ///   - error: an error, if any.
    ///   - epoch: the responder's epoch.
    ///   - leaderID: the leader it knows.
    ///   - voteGranted: the decision.
    ///   - preVote: echo of the request flag.
    public init(error: RaftError? = nil, epoch: LeaderEpoch, leaderID: ReplicaID?, voteGranted: Bool, preVote: Bool) {
        self.error = error
        self.epoch = epoch
        self.leaderID = leaderID
        self.voteGranted = voteGranted
        self.preVote = preVote
    }
}

/// BeginQuorumEpoch request (KIP-595): "I won `epoch`; fetch from me."
public struct BeginQuorumEpochRequest: Hashable, Sendable {
    /// The new epoch.
    public var epoch: LeaderEpoch
    /// The new leader (the sender).
    public var leaderID: ReplicaID

    /// A BeginQuorumEpoch request.
    /// - Parameters:
    ///   - epoch: the leader's epoch.
    ///   - leaderID: the leader.
    public init(epoch: LeaderEpoch, leaderID: ReplicaID) {
        self.epoch = epoch
        self.leaderID = leaderID
    }
}

/// EndQuorumEpoch request (KIP-595 "Graceful shutdown"): the leader of `epoch` resigns and lists the
/// voters it would like to succeed it, most caught up first.
public struct EndQuorumEpochRequest: Hashable, Sendable {
    /// The epoch being given up.
    public var epoch: LeaderEpoch
    /// The resigning leader (the sender).
    public var leaderID: ReplicaID
    /// Voters by descending fetch offset; the first starts an election at once, the others back off
    /// in proportion to their position.
    public var preferredSuccessors: [ReplicaID]

    /// An EndQuorumEpoch request.
    /// - Parameters:
    ///   - epoch: the resigned epoch.
    ///   - leaderID: the resigning leader.
    ///   - preferredSuccessors: successors, best first.
    public init(epoch: LeaderEpoch, leaderID: ReplicaID, preferredSuccessors: [ReplicaID]) {
        self.epoch = epoch
        self.leaderID = leaderID
        self.preferredSuccessors = preferredSuccessors
    }
}

/// The answer to BeginQuorumEpoch and EndQuorumEpoch: the responder's epoch and leader, so a stale
/// sender learns of a newer epoch.
public struct QuorumEpochResponse: Hashable, Sendable {
    /// An error, if the request was refused.
    public var error: RaftError?
    /// The responder's epoch.
    public var epoch: LeaderEpoch
    /// The leader it knows in `epoch`.
    public var leaderID: ReplicaID?

    /// A BeginQuorumEpoch/EndQuorumEpoch response.
    /// - Parameters:
    ///   - error: the refusal, if any.
    ///   - epoch: the responder's epoch.
    ///   - leaderID: the leader it knows.
    public init(error: RaftError? = nil, epoch: LeaderEpoch, leaderID: ReplicaID?) {
        self.error = error
        self.epoch = epoch
        self.leaderID = leaderID
    }
}

/// Fetch request from a follower or observer (KIP-595 "Fetch"; the sender's id is its `ReplicaId`).
public struct FetchRequest: Hashable, Sendable {
    /// `CurrentLeaderEpoch`: the epoch the sender believes current.
    public var epoch: LeaderEpoch
    /// `FetchOffset`: the sender's log end offset (for the leader, the sender's replicated position).
    public var fetchOffset: Offset
    /// `LastFetchedEpoch`: the epoch of the sender's last entry, checked against the leader's log.
    public var lastFetchedEpoch: LeaderEpoch
    /// The sender's high watermark (KIP-1166), so the leader answers at once when the follower's is
    /// stale instead of parking the fetch.
    public var highWatermark: Offset?
    /// Correlates the response with this request; the follower ignores answers to older fetches.
    public var requestID: UInt64

    /// A fetch request.
    /// - Parameters:
    ///   - epoch: the sender's current epoch.
    ///   - fetchOffset: its log end offset.
    ///   - lastFetchedEpoch: the epoch of its last entry.
    ///   - highWatermark: its high watermark.
    ///   - requestID: correlation id.
    public init(epoch: LeaderEpoch, fetchOffset: Offset, lastFetchedEpoch: LeaderEpoch, highWatermark: Offset?,
                requestID: UInt64) {
        self.epoch = epoch
        self.fetchOffset = fetchOffset
        self.lastFetchedEpoch = lastFetchedEpoch
        self.highWatermark = highWatermark
        self.requestID = requestID
    }
}

/// What a successful fetch returns: entries, where to truncate, or which snapshot to fetch.
public enum FetchResult<Payload: Sendable>: Sendable {
    /// Entries from the fetch offset (possibly none, after a long poll).
    case entries([LogEntry<Payload>])
    /// `DivergingEpoch`: the follower's last epoch ends at this offset in the leader's log (or the
    /// largest earlier epoch does); truncate and fetch again.
    case divergingEpoch(OffsetAndEpoch)
    /// `SnapshotId`: the fetch offset is below the leader's log start; fetch this snapshot.
    case snapshot(SnapshotID)
}

/// Fetch response. Every response names the responder's epoch and leader, so fetching is also how
/// observers and lagging voters discover the leader.
public struct FetchResponse<Payload: Sendable>: Sendable {
    /// An error instead of data, if any.
    public var error: RaftError?
    /// The responder's epoch.
    public var epoch: LeaderEpoch
    /// The leader the responder knows.
    public var leaderID: ReplicaID?
    /// The leader's high watermark (`nil` while a new leader has not committed in its epoch yet).
    public var highWatermark: Offset?
    /// Echo of the request's correlation id.
    public var requestID: UInt64
    /// Echo of the request's fetch offset.
    public var fetchOffset: Offset
    /// The data, divergence or snapshot answer.
    public var result: FetchResult<Payload>

    /// A fetch response.
    /// - Parameters:
    ///   - error: an error, if any.
    ///   - epoch: the responder's epoch.
    ///   - leaderID: the leader it knows.
    ///   - highWatermark: the leader's high watermark.
    ///   - requestID: the request's correlation id.
    ///   - fetchOffset: the request's fetch offset.
    ///   - result: the answer.
    public init(error: RaftError? = nil, epoch: LeaderEpoch, leaderID: ReplicaID?, highWatermark: Offset?,
                requestID: UInt64, fetchOffset: Offset, result: FetchResult<Payload>) {
        self.error = error
        self.epoch = epoch
        self.leaderID = leaderID
        self.highWatermark = highWatermark
        self.requestID = requestID
        self.fetchOffset = fetchOffset
        self.result = result
    }
}

/// FetchSnapshot request (KIP-630). This implementation moves a snapshot in one piece.
public struct FetchSnapshotRequest: Hashable, Sendable {
    /// The sender's current epoch.
    public var epoch: LeaderEpoch
    /// The snapshot the leader named in its Fetch response.
    public var snapshotID: SnapshotID
    /// Correlation id.
    public var requestID: UInt64

    /// A FetchSnapshot request.
    /// - Parameters:
    ///   - epoch: the sender's epoch.
    ///   - snapshotID: the wanted snapshot.
    ///   - requestID: correlation id.
    public init(epoch: LeaderEpoch, snapshotID: SnapshotID, requestID: UInt64) {
        self.epoch = epoch
        self.snapshotID = snapshotID
        self.requestID = requestID
    }
}

/// FetchSnapshot response.
public struct FetchSnapshotResponse: Hashable, Sendable {
    /// An error, if the snapshot is not served.
    public var error: RaftError?
    /// The responder's epoch.
    public var epoch: LeaderEpoch
    /// The leader it knows.
    public var leaderID: ReplicaID?
    /// Echo of the request's correlation id.
    public var requestID: UInt64
    /// The whole snapshot, when `error` is `nil`.
    public var snapshot: RaftSnapshot?

    /// A FetchSnapshot response.
    /// - Parameters:
    ///   - error: an error, if any.
    ///   - epoch: the responder's epoch.
    ///   - leaderID: the leader it knows.
    ///   - requestID: the request's correlation id.
    ///   - snapshot: the snapshot.
    public init(error: RaftError? = nil, epoch: LeaderEpoch, leaderID: ReplicaID?, requestID: UInt64,
                snapshot: RaftSnapshot?) {
        self.error = error
        self.epoch = epoch
        self.leaderID = leaderID
        self.requestID = requestID
        self.snapshot = snapshot
    }
}

/// One member of a KRaft-style quorum (KIP-595 with KIP-996 pre-vote) as a pure state machine.
///
/// The node does no I/O, reads no clock and owns no threads. The driver feeds it:
/// - `handle(_:from:)` for every message that arrives,
/// - `tick()` at a fixed period (every duration in `RaftConfig` is a number of ticks),
/// - `propose(_:)`, `snapshot(upTo:payload:)` and `resign()` from the owner, followed by `flush()`.
///
/// Each of `handle`, `tick` and `flush` returns a `RaftStep`: first the `PersistAction`s to make
/// durable, then (through `RaftStep.persisted()`) the messages to send and the snapshot and committed
/// entries to apply. Persist before sending: a message may promise what was persisted (a vote, an
/// accepted entry), and a node restarted from its persisted state must never contradict one.
///
/// Restart a node by building `RaftPersistentState` from what was persisted and calling
/// `init(config:persistentState:)` with a fresh random seed. In-memory state (the high watermark, the
/// applied position, Prospective and Resigned roles) starts over: a former leader comes back Resigned
/// in its epoch, as in KRaft's `QuorumState.initialize`.
public struct RaftNode<Payload: Sendable>: Sendable {
    /// The configuration the node was started with.
    public let config: RaftConfig
    /// The voters other than this node, sorted.
    let remoteVoters: [ReplicaID]
    /// All voters, sorted.
    let sortedVoters: [ReplicaID]
    var random: SeededRandom
    /// The current epoch (persisted).
    public internal(set) var epoch: LeaderEpoch = 0
    /// The candidate this node voted for in `epoch`, if any (persisted).
    public internal(set) var votedID: ReplicaID?
    var state: RoleState
    /// The node's copy of the log; changed only through the persist actions it emits.
    public internal(set) var log: RaftLog<Payload>
    /// The high watermark: every offset below it is committed. After a start it is the end of the
    /// latest snapshot, or `nil` without one, until a leader tells more. Never decreases during one
    /// incarnation.
    public internal(set) var highWatermark: Offset?
    /// The next offset to deliver in `RaftEffects.committed` (entries below it were delivered, or are
    /// covered by the snapshot delivered last).
    public internal(set) var appliedOffset: Offset
    /// Ticks since this incarnation started.
    public internal(set) var currentTick: Int64 = 0
    var persistedQuorumState: QuorumStateRecord?
    var nextRequestID: UInt64 = 1
    var pending = PendingOutput<Payload>()

    /// Starts (or restarts) a node.
    ///
    /// The first step returned (by `tick`, `handle` or `flush`) may carry persist actions that tidy the
    /// log after an interrupted snapshot install, and a `snapshotToLoad` with the latest snapshot.
    /// - Parameters:
    ///   - config: identity, voters, timeouts and the random seed.
    ///   - persistentState: what this node persisted before, or an empty state for a new node.
    /// - Throws: `RaftStateError` when the configuration is invalid, the log is inconsistent, or the
    ///   quorum state names a vote or leader outside the voter set (KRaft refuses to start then too).
    public init(config: RaftConfig, persistentState: RaftPersistentState<Payload> = RaftPersistentState())
        throws(RaftStateError)
    {
        try config.validate()
        self.config = config
        self.sortedVoters = config.voters.sorted()
        self.remoteVoters = sortedVoters.filter { $0 != config.nodeID }
        self.random = config.random
        self.log = persistentState.log
        self.persistedQuorumState = persistentState.quorumState
        self.state = .unattached(UnattachedState(electionDeadline: .max, discoveryAt: 0))
        self.appliedOffset = 0
        // Start request ids at a random point so a late response to the previous incarnation's
        // request cannot pass for an answer to this one's.
        self.nextRequestID = random.next() >> 1
        try tidyLogAfterRestart()
        appliedOffset = log.startOffset
        if let snapshot = log.snapshot {
            // A snapshot holds only committed entries, so the high watermark is at least its end.
            highWatermark = snapshot.id.offset
            pending.snapshotToLoad = snapshot
        }
        try restoreRole(from: persistentState.quorumState ?? QuorumStateRecord(leaderEpoch: 0))
    }

    // MARK: Queries

    /// This node's id.
    public var nodeID: ReplicaID { config.nodeID }

    /// Whether this node is a voter (else an observer).
    public var isVoter: Bool { config.isVoter }

    /// The current role.
    public var role: RaftRole { state.role }

    /// The leader of `epoch` as far as this node knows: itself when leading, the leader it follows,
    /// else `nil` (also when Resigned).
    public var leader: ReplicaID? {
        switch state {
        case .leader: nodeID
        case .follower(let follower): follower.leaderID
        default: nil
        }
    }

    /// The log end offset.
    public var logEndOffset: Offset { log.endOffset }

    // MARK: Inputs

    /// Handles one message from another node.
    /// - Parameters:
    ///   - message: the request or response received.
    ///   - sender: the node that sent it.
    /// - Returns: what to persist, then send and apply.
    public mutating func handle(_ message: RaftMessage<Payload>, from sender: ReplicaID) -> RaftStep<Payload> {
        guard sender != nodeID else { return takeStep() }
        switch message {
        case .vote(let request): handleVote(request, from: sender)
        case .voteResponse(let response): handleVoteResponse(response, from: sender)
        case .beginQuorumEpoch(let request): handleBeginQuorumEpoch(request, from: sender)
        case .beginQuorumEpochResponse(let response): handleBeginQuorumEpochResponse(response, from: sender)
        case .endQuorumEpoch(let request): handleEndQuorumEpoch(request, from: sender)
        case .endQuorumEpochResponse(let response): handleEndQuorumEpochResponse(response, from: sender)
        case .fetch(let request): handleFetch(request, from: sender)
        case .fetchResponse(let response): handleFetchResponse(response, from: sender)
        case .fetchSnapshot(let request): handleFetchSnapshot(request, from: sender)
        case .fetchSnapshotResponse(let response): handleFetchSnapshotResponse(response, from: sender)
        }
        return takeStep()
    }

    /// Advances time by one tick and fires whatever timer expired: election and fetch timeouts,
    /// check-quorum, long-poll expiry, request retries.
    /// - Returns: what to persist, then send and apply.
    public mutating func tick() -> RaftStep<Payload> {
        currentTick += 1
        switch state {
        case .unattached(let unattached): tickUnattached(unattached)
        case .prospective(let prospective): tickProspective(prospective)
        case .candidate(let candidate): tickCandidate(candidate)
        case .leader(let leader): tickLeader(leader)
        case .follower(let follower): tickFollower(follower)
        case .resigned(let resigned): tickResigned(resigned)
        }
        return takeStep()
    }

    /// Returns what `propose`, `snapshot(upTo:payload:)` and `resign()` queued (and anything else
    /// pending) without waiting for the next tick or message.
    /// - Returns: what to persist, then send and apply.
    public mutating func flush() -> RaftStep<Payload> { takeStep() }

    // MARK: Output plumbing

    mutating func persist(_ action: PersistAction<Payload>) {
        if case .setQuorumState(let record) = action {
            persistedQuorumState = record
        } else {
            log.apply(action)
        }
        pending.persist.append(action)
    }

    mutating func send(_ message: RaftMessage<Payload>, to destination: ReplicaID) {
        pending.messages.append(RaftEnvelope(to: destination, message: message))
    }

    mutating func takeStep() -> RaftStep<Payload> {
        deliverCommitted()
        let output = pending
        pending = PendingOutput()
        return RaftStep(
            persist: output.persist,
            effects: RaftEffects(messages: output.messages, snapshotToLoad: output.snapshotToLoad,
                                 committed: output.committed)
        )
    }

    /// Moves newly committed entries into the step, in order and once each.
    private mutating func deliverCommitted() {
        guard let highWatermark else { return }
        let end = min(highWatermark, log.endOffset)
        guard appliedOffset < end else { return }
        precondition(appliedOffset >= log.startOffset,
                     "node \(nodeID): applied offset \(appliedOffset) is below the log start \(log.startOffset)")
        let entries = log.entries(from: appliedOffset, maxCount: Int(appliedOffset.distance(to: end)))
        pending.committed.append(contentsOf: entries)
        appliedOffset = end
    }

    var now: Int64 { currentTick }

    mutating func nextRequest() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    mutating func randomElectionTimeout() -> Int64 {
        Int64(config.electionTimeoutTicks + random.next(below: config.electionTimeoutTicks))
    }
}

/// What accumulates between two steps.
struct PendingOutput<Payload: Sendable>: Sendable {
    var persist: [PersistAction<Payload>] = []
    var messages: [RaftEnvelope<Payload>] = []
    var snapshotToLoad: RaftSnapshot?
    var committed: [LogEntry<Payload>] = []
}

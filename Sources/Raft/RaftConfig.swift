/// Static configuration of one node. Every duration is in ticks: the driver calls `RaftNode.tick()`
/// at a fixed period of its choosing (say every 100 ms) and sizes these accordingly. The defaults are
/// KRaft's defaults divided by 100 ms.
public struct RaftConfig: Sendable {
    /// This node's id (`node.id`).
    public var nodeID: ReplicaID
    /// The voters (`controller.quorum.voters`). A node whose id is not listed is an observer: it
    /// fetches and applies the log but never votes, never runs for election and never counts toward a
    /// majority (KIP-595 "Observers").
    public var voters: Set<ReplicaID>
    /// Base election timeout (`controller.quorum.election.timeout.ms`, 1000 ms): each wait is drawn
    /// uniformly from `electionTimeoutTicks ..< 2 × electionTimeoutTicks`. Default 10.
    public var electionTimeoutTicks: Int
    /// Fetch timeout (`controller.quorum.fetch.timeout.ms`, 2000 ms): a follower that gets no
    /// successful Fetch response from its leader for this long becomes Prospective (KIP-996); a leader
    /// that has not been fetched from by a majority for 1.5 × this long resigns (check-quorum).
    /// Default 20.
    public var fetchTimeoutTicks: Int
    /// Upper bound of the backoff a follower waits after EndQuorumEpoch when it is not the first
    /// preferred successor (`controller.quorum.election.backoff.max.ms`, 1000 ms). Default 10.
    public var electionBackoffMaxTicks: Int
    /// How long a request may stay unanswered before it is sent again
    /// (`controller.quorum.request.timeout.ms`, 2000 ms). Must exceed `fetchMaxWaitTicks`. Default 20.
    public var requestTimeoutTicks: Int
    /// Wait between resends of Vote, BeginQuorumEpoch and EndQuorumEpoch to nodes that have not
    /// answered, and the unit of the EndQuorumEpoch backoff (`controller.quorum.retry.backoff.ms`,
    /// 20 ms, rounded up). Default 1.
    public var retryBackoffTicks: Int
    /// How long the leader parks a Fetch that has nothing new to return (Kafka's long poll,
    /// `KafkaRaftClient`'s fetch max wait of 500 ms). Default 5.
    public var fetchMaxWaitTicks: Int
    /// Most entries in one Fetch response. Default 100.
    public var maxEntriesPerFetch: Int
    /// The generator for election-timeout jitter; seed it differently on every node and every
    /// restart.
    public var random: SeededRandom
    /// Deliberate protocol bugs for testing that the simulation's checkers can fail. Always `.none`
    /// outside tests.
    var plantedBug: PlantedBug = .none

    /// A configuration with KRaft-like defaults.
    /// - Parameters:
    ///   - nodeID: this node's id.
    ///   - voters: the static voter set; must not be empty.
    ///   - random: the jitter generator.
    public init(nodeID: ReplicaID, voters: Set<ReplicaID>, random: SeededRandom,
                electionTimeoutTicks: Int = 10, fetchTimeoutTicks: Int = 20,
                electionBackoffMaxTicks: Int = 10, requestTimeoutTicks: Int = 20,
                retryBackoffTicks: Int = 1, fetchMaxWaitTicks: Int = 5, maxEntriesPerFetch: Int = 100) {
        self.nodeID = nodeID
        self.voters = voters
        self.random = random
        self.electionTimeoutTicks = electionTimeoutTicks
        self.fetchTimeoutTicks = fetchTimeoutTicks
        self.electionBackoffMaxTicks = electionBackoffMaxTicks
        self.requestTimeoutTicks = requestTimeoutTicks
        self.retryBackoffTicks = retryBackoffTicks
        self.fetchMaxWaitTicks = fetchMaxWaitTicks
        self.maxEntriesPerFetch = maxEntriesPerFetch
    }

    /// Whether this node votes.
    public var isVoter: Bool { voters.contains(nodeID) }

    /// Check-quorum period: 1.5 × the fetch timeout, as KRaft's `LeaderState` uses.
    public var checkQuorumTimeoutTicks: Int { fetchTimeoutTicks * 3 / 2 }

    /// How many voters make a majority.
    public var majority: Int { voters.count / 2 + 1 }

    func validate() throws(RaftStateError) {
        if voters.isEmpty { throw .invalidConfig("voters is empty") }
        if electionTimeoutTicks < 1 { throw .invalidConfig("electionTimeoutTicks \(electionTimeoutTicks) < 1") }
        if fetchTimeoutTicks < 1 { throw .invalidConfig("fetchTimeoutTicks \(fetchTimeoutTicks) < 1") }
        if electionBackoffMaxTicks < 1 { throw .invalidConfig("electionBackoffMaxTicks \(electionBackoffMaxTicks) < 1") }
        if retryBackoffTicks < 1 { throw .invalidConfig("retryBackoffTicks \(retryBackoffTicks) < 1") }
        if fetchMaxWaitTicks < 0 { throw .invalidConfig("fetchMaxWaitTicks \(fetchMaxWaitTicks) < 0") }
        if requestTimeoutTicks <= fetchMaxWaitTicks {
            throw .invalidConfig("requestTimeoutTicks \(requestTimeoutTicks) must exceed fetchMaxWaitTicks \(fetchMaxWaitTicks)")
        }
        if maxEntriesPerFetch < 1 { throw .invalidConfig("maxEntriesPerFetch \(maxEntriesPerFetch) < 1") }
    }
}

/// Bugs a test can plant in a node to prove the simulation's invariant checkers are not vacuous.
enum PlantedBug: Sendable, Equatable {
    case none
    /// Grant every standard vote whose log is up to date, even after voting for someone else in the
    /// same epoch (breaks "one vote per epoch", so two leaders can win one epoch).
    case voteTwicePerEpoch
    /// Grant votes without the log up-to-date check (breaks leader completeness).
    case ignoreLogUpToDateCheck
}

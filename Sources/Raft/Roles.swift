/// A node's role, with KRaft's state names (`QuorumState`, Kafka 4.0 with KIP-996).
///
/// Transitions (voters):
/// - Unattached → Prospective when its election timeout expires; → Follower on learning the leader
///   of its epoch or a newer one; → Unattached on a newer epoch.
/// - Prospective → Candidate with a majority of pre-votes; → Follower (leader known) or Unattached
///   when the pre-vote is lost or times out, or on learning a leader.
/// - Candidate → Leader with a majority of votes; → Prospective when its election times out.
/// - Leader → Resigned on check-quorum failure or `resign()`; → Unattached/Follower on a newer epoch.
/// - Follower → Prospective when the fetch timeout expires (sooner after EndQuorumEpoch).
/// - Resigned → Unattached in the next epoch after an election timeout.
///
/// Observers only move between Unattached and Follower.
public enum RaftRole: String, Hashable, Sendable, CaseIterable {
    /// Knows no leader in its epoch and is not running; may hold a vote for the epoch.
    case unattached = "Unattached"
    /// Asking for pre-votes (KIP-996) in its current epoch, without bumping it.
    case prospective = "Prospective"
    /// Running for election in a new epoch it has voted for itself in (persisted).
    case candidate = "Candidate"
    /// Elected for the current epoch; accepts proposals and serves fetches.
    case leader = "Leader"
    /// Fetching from the known leader of the current epoch.
    case follower = "Follower"
    /// A former leader of the current epoch that gave up (check-quorum, graceful resignation, or a
    /// restart after leading): serves nothing, votes for nobody in this epoch.
    case resigned = "Resigned"
}

/// Votes counted in one (pre-)election.
struct ElectionTally: Sendable {
    var granted: Set<ReplicaID> = []
    var rejected: Set<ReplicaID> = []

    mutating func record(_ voter: ReplicaID, granted isGranted: Bool) {
        if isGranted {
            rejected.remove(voter)
            granted.insert(voter)
        } else if !granted.contains(voter) {
            rejected.insert(voter)
        }
    }

    func responded(_ voter: ReplicaID) -> Bool { granted.contains(voter) || rejected.contains(voter) }
    func isWon(majority: Int) -> Bool { granted.count >= majority }
    func isLost(voterCount: Int, majority: Int) -> Bool { voterCount - rejected.count < majority }
}

struct UnattachedState: Sendable {
    /// Voters: when to become Prospective. Observers: never.
    var electionDeadline: Int64
    /// Observers: when to send the next leader-discovery Fetch to a voter.
    var discoveryAt: Int64
}

struct ProspectiveState: Sendable {
    /// The leader of the epoch, if this node was following one (it returns to it on losing).
    var leaderID: ReplicaID?
    var tally = ElectionTally()
    var electionDeadline: Int64
}

struct CandidateState: Sendable {
    var tally = ElectionTally()
    var electionDeadline: Int64
}

struct InFlightFetch: Sendable {
    var requestID: UInt64
    var sentAt: Int64
    var fetchOffset: Offset
}

struct FollowerState: Sendable {
    var leaderID: ReplicaID
    /// When the fetch timeout expires (moved earlier by EndQuorumEpoch).
    var fetchDeadline: Int64
    /// A Fetch response from the leader arrived since this node started following it: while this holds
    /// (and the fetch timeout has not expired) the node rejects votes and pre-votes (KIP-996).
    var hasFetchedFromLeader = false
    /// The leader sent EndQuorumEpoch: it is leaving, so votes may be granted again.
    var leaderResigned = false
    var inFlight: InFlightFetch?
    /// The snapshot being fetched, when the leader answered with a snapshot id.
    var fetchingSnapshot: SnapshotID?
}

struct ParkedFetch: Sendable {
    var request: FetchRequest
    var deadline: Int64
}

struct LeaderState: Sendable {
    /// The offset of this epoch's leader-change record: the high watermark may only advance past it.
    var epochStartOffset: Offset
    var grantingVoters: Set<ReplicaID>
    /// Each remote voter's position: the largest fetch offset it sent in a valid fetch this epoch.
    var fetchOffsets: [ReplicaID: Offset] = [:]
    var lastFetchAt: [ReplicaID: Int64] = [:]
    /// Remote voters that fetched since the check-quorum timer was last reset.
    var fetchedSinceCheck: Set<ReplicaID> = []
    var checkQuorumDeadline: Int64
    var beginQuorumEpochSentAt: [ReplicaID: Int64] = [:]
    /// Long-polled fetches with nothing to return yet, by replica.
    var parked: [ReplicaID: ParkedFetch] = [:]
}

struct ResignedState: Sendable {
    var electionDeadline: Int64
    var preferredSuccessors: [ReplicaID]
    var unacknowledged: Set<ReplicaID>
    var retryAt: Int64
}

enum RoleState: Sendable {
    case unattached(UnattachedState)
    case prospective(ProspectiveState)
    case candidate(CandidateState)
    case leader(LeaderState)
    case follower(FollowerState)
    case resigned(ResignedState)

    var role: RaftRole {
        switch self {
        case .unattached: .unattached
        case .prospective: .prospective
        case .candidate: .candidate
        case .leader: .leader
        case .follower: .follower
        case .resigned: .resigned
        }
    }
}

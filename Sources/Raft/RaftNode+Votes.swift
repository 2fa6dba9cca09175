// Vote, BeginQuorumEpoch and EndQuorumEpoch handling (KIP-595 "Leader Election", KIP-996 "Pre-Vote").
extension RaftNode {
    mutating func handleVote(_ request: VoteRequest, from candidate: ReplicaID) {
        guard config.isVoter, config.voters.contains(candidate) else {
            // Observers never vote, and only voters may be elected.
            replyToVote(request, to: candidate, granted: false, error: .inconsistentVoterSet)
            return
        }
        if request.epoch < epoch {
            replyToVote(request, to: candidate, granted: false, error: .fencedLeaderEpoch)
            return
        }
        if case .follower(let follower) = state, follower.hasFetchedFromLeader, !follower.leaderResigned {
            // KIP-996: a follower that hears from a live leader rejects pre-votes and votes, whatever
            // their epoch, and keeps its epoch: a node that was cut off cannot depose the leader.
            replyToVote(request, to: candidate, granted: false, error: nil)
            return
        }
        if request.epoch > epoch {
            // A newer epoch exists (a pre-vote carries its sender's current epoch, so it exists too).
            becomeUnattached(epoch: request.epoch)
        }
        let isLogUpToDate = request.lastEndOffsetAndEpoch >= log.endOffsetAndEpoch
            || config.plantedBug == .ignoreLogUpToDateCheck
        let granted = canGrantVote(to: candidate, isLogUpToDate: isLogUpToDate, preVote: request.preVote)
        if granted && !request.preVote && votedID == nil {
            votedID = candidate
            if case .unattached(var unattached) = state {
                // Like KRaft, wait a full election timeout for the candidate we backed.
                unattached.electionDeadline = now + randomElectionTimeout()
                state = .unattached(unattached)
            }
            persistQuorumState()
        }
        replyToVote(request, to: candidate, granted: granted, error: nil)
    }

    /// KRaft's per-state `canGrantVote`. Pre-votes bind nobody; a binding vote is one per epoch.
    func canGrantVote(to candidate: ReplicaID, isLogUpToDate: Bool, preVote: Bool) -> Bool {
        let votesTwice = config.plantedBug == .voteTwicePerEpoch
        switch state {
        case .unattached:
            if preVote || votesTwice { return isLogUpToDate }
            if let votedID { return votedID == candidate }
            return isLogUpToDate
        case .prospective(let prospective):
            if preVote || votesTwice { return isLogUpToDate }
            if let votedID { return votedID == candidate }
            return prospective.leaderID == nil && isLogUpToDate
        case .candidate:
            return (preVote || votesTwice) && isLogUpToDate
        case .follower(let follower):
            return preVote && (!follower.hasFetchedFromLeader || follower.leaderResigned) && isLogUpToDate
        case .leader, .resigned:
            return false
        }
    }

    private mutating func replyToVote(_ request: VoteRequest, to candidate: ReplicaID, granted: Bool, error: RaftError?) {
        let response = VoteResponse(error: error, epoch: epoch, leaderID: leader, voteGranted: granted,
                                    preVote: request.preVote)
        send(.voteResponse(response), to: candidate)
    }

    mutating func handleVoteResponse(_ response: VoteResponse, from voter: ReplicaID) {
        if observeEpoch(response.epoch, leaderID: response.leaderID) { return }
        guard response.epoch == epoch, response.error == nil || !response.voteGranted else { return }
        switch state {
        case .prospective where response.preVote:
            recordVote(from: voter, granted: response.voteGranted)
        case .candidate where !response.preVote:
            recordVote(from: voter, granted: response.voteGranted)
        default:
            break
        }
    }

    mutating func handleBeginQuorumEpoch(_ request: BeginQuorumEpochRequest, from sender: ReplicaID) {
        guard config.isVoter, sender == request.leaderID, config.voters.contains(sender) else {
            replyQuorumEpoch(begin: true, to: sender, error: .inconsistentVoterSet)
            return
        }
        if request.epoch < epoch {
            replyQuorumEpoch(begin: true, to: sender, error: .fencedLeaderEpoch)
            return
        }
        observeEpoch(request.epoch, leaderID: request.leaderID)
        replyQuorumEpoch(begin: true, to: sender, error: nil)
    }

    mutating func handleBeginQuorumEpochResponse(_ response: QuorumEpochResponse, from sender: ReplicaID) {
        observeEpoch(response.epoch, leaderID: response.leaderID)
    }

    mutating func handleEndQuorumEpoch(_ request: EndQuorumEpochRequest, from sender: ReplicaID) {
        guard config.isVoter, sender == request.leaderID, config.voters.contains(sender) else {
            replyQuorumEpoch(begin: false, to: sender, error: .inconsistentVoterSet)
            return
        }
        if request.epoch < epoch {
            replyQuorumEpoch(begin: false, to: sender, error: .fencedLeaderEpoch)
            return
        }
        observeEpoch(request.epoch, leaderID: request.leaderID)
        if case .follower(var follower) = state, follower.leaderID == request.leaderID, request.epoch == epoch {
            // KIP-595 "Graceful shutdown": start the election sooner, the preferred successors first.
            let backoff = endQuorumEpochBackoff(preferredSuccessors: request.preferredSuccessors)
            follower.leaderResigned = true
            follower.fetchDeadline = min(follower.fetchDeadline, now + backoff)
            state = .follower(follower)
            if backoff == 0 { becomeProspective() }
        }
        replyQuorumEpoch(begin: false, to: sender, error: nil)
    }

    mutating func handleEndQuorumEpochResponse(_ response: QuorumEpochResponse, from sender: ReplicaID) {
        if observeEpoch(response.epoch, leaderID: response.leaderID) { return }
        if case .resigned(var resigned) = state, response.epoch == epoch {
            resigned.unacknowledged.remove(sender)
            state = .resigned(resigned)
        }
    }

    /// KRaft's `endEpochElectionBackoff`: the first preferred successor runs at once; the one at
    /// position p waits `retryBackoff × 2^(p-1)` ticks, capped by `electionBackoffMaxTicks`; a voter
    /// not listed waits the cap.
    func endQuorumEpochBackoff(preferredSuccessors: [ReplicaID]) -> Int64 {
        guard let position = preferredSuccessors.firstIndex(of: nodeID) else {
            return Int64(config.electionBackoffMaxTicks)
        }
        if position == 0 { return 0 }
        let exponential = Int64(config.retryBackoffTicks) << Int64(min(position - 1, 20))
        return min(exponential, Int64(config.electionBackoffMaxTicks))
    }

    private mutating func replyQuorumEpoch(begin: Bool, to destination: ReplicaID, error: RaftError?) {
        let response = QuorumEpochResponse(error: error, epoch: epoch, leaderID: leader)
        send(begin ? .beginQuorumEpochResponse(response) : .endQuorumEpochResponse(response), to: destination)
    }
}

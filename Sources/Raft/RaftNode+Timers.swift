// What each role does when time passes.
extension RaftNode {
    /// How often a leader re-announces itself to a voter that is not fetching, and how long a voter may
    /// go without fetching before it counts as not fetching: half the fetch timeout, so a voter that
    /// missed BeginQuorumEpoch hears it again before it would start an election.
    var beginQuorumEpochIntervalTicks: Int64 { Int64(max(config.retryBackoffTicks, config.fetchTimeoutTicks / 2)) }

    /// How often a Resigned node resends EndQuorumEpoch to voters that have not answered.
    var endQuorumEpochIntervalTicks: Int64 { Int64(max(config.retryBackoffTicks, config.electionTimeoutTicks / 4)) }

    mutating func tickUnattached(_ unattached: UnattachedState) {
        if config.isVoter {
            if now >= unattached.electionDeadline { becomeProspective() }
        } else if now >= unattached.discoveryAt {
            // An observer finds the leader by fetching from the voters; every answer names the leader
            // the voter knows (KRaft observers fetch from the bootstrap servers the same way). It asks
            // all of them at once: asking one at a time loses a whole request timeout each time the
            // one asked is the voter that just died, which is exactly when observers look.
            let request = FetchRequest(epoch: epoch, fetchOffset: log.endOffset, lastFetchedEpoch: log.lastEpoch,
                                       highWatermark: highWatermark, requestID: nextRequest())
            for voter in sortedVoters { send(.fetch(request), to: voter) }
            var next = unattached
            next.discoveryAt = now + Int64(config.requestTimeoutTicks)
            state = .unattached(next)
        }
    }

    mutating func tickProspective(_ prospective: ProspectiveState) {
        guard now >= prospective.electionDeadline else { return }
        // A pre-vote that neither won nor lost in time: go back to the leader if there was one (its
        // fetch timeout starts over), else ask again.
        if let leaderID = prospective.leaderID {
            becomeFollower(epoch: epoch, leaderID: leaderID)
        } else {
            becomeProspective()
        }
    }

    mutating func tickCandidate(_ candidate: CandidateState) {
        // KIP-996: a candidate whose election times out goes back to pre-voting.
        if now >= candidate.electionDeadline { becomeProspective() }
    }

    mutating func tickFollower(_ follower: FollowerState) {
        if now >= follower.fetchDeadline {
            if config.isVoter {
                becomeProspective()
            } else {
                becomeUnattached(epoch: epoch)
            }
            return
        }
        if let inFlight = follower.inFlight, now - inFlight.sentAt < Int64(config.requestTimeoutTicks) { return }
        sendFetch()
    }

    mutating func tickLeader(_ leader: LeaderState) {
        if !remoteVoters.isEmpty && now >= leader.checkQuorumDeadline {
            // Check-quorum (KAFKA-15489): no majority fetched within 1.5 × the fetch timeout, so this
            // leader may be cut off; stepping down lets the majority side elect someone.
            becomeResigned(preferredSuccessors: successorsByFetchOffset(leader))
            return
        }
        for (replica, parked) in leader.parked.sorted(by: { $0.key < $1.key }) where now >= parked.deadline {
            answerParkedFetch(of: replica)
        }
        for voter in remoteVoters {
            let fetchedRecently = leader.lastFetchAt[voter].map { now - $0 < beginQuorumEpochIntervalTicks } ?? false
            let sentRecently = leader.beginQuorumEpochSentAt[voter].map { now - $0 < beginQuorumEpochIntervalTicks } ?? false
            if !fetchedRecently && !sentRecently { sendBeginQuorumEpoch(to: voter) }
        }
    }

    mutating func tickResigned(_ resigned: ResignedState) {
        if now >= resigned.electionDeadline {
            // KRaft: leave the resigned epoch for the next one, then run (pre-vote) at once.
            becomeUnattached(epoch: epoch.next)
            becomeProspective()
            return
        }
        if now >= resigned.retryAt && !resigned.unacknowledged.isEmpty {
            var next = resigned
            next.retryAt = now + endQuorumEpochIntervalTicks
            state = .resigned(next)
            sendEndQuorumEpoch()
        }
    }

    /// Remote voters, most caught up first: the preferred successors of EndQuorumEpoch (KRaft's
    /// `nonLeaderVotersByDescendingFetchOffset`).
    func successorsByFetchOffset(_ leader: LeaderState) -> [ReplicaID] {
        remoteVoters.sorted { lhs, rhs in
            let left = leader.fetchOffsets[lhs] ?? -1
            let right = leader.fetchOffsets[rhs] ?? -1
            return left != right ? left > right : lhs < rhs
        }
    }
}

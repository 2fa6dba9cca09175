// Role transitions (KRaft's QuorumState): which are durable, what each one sends on entry.
extension RaftNode {
    /// Brings the log back in line with its snapshot after a crash between `installSnapshot` and the
    /// log action that followed it.
    mutating func tidyLogAfterRestart() throws(RaftStateError) {
        guard let snapshot = log.snapshot else {
            if log.startOffset != 0 {
                throw .invalidLog("log starts at \(log.startOffset) but there is no snapshot")
            }
            return
        }
        let end = snapshot.id.offset
        if log.startOffset > end {
            throw .invalidLog("log starts at \(log.startOffset), after the snapshot end \(end)")
        }
        guard log.startOffset < end else { return }
        if log.entry(at: end - 1)?.epoch == snapshot.id.epoch {
            persist(.deleteLogPrefix(before: end))
        } else {
            persist(.resetLog(startOffset: end))
        }
    }

    /// KRaft's `QuorumState.initialize`: resume in the role the quorum-state file implies.
    mutating func restoreRole(from record: QuorumStateRecord) throws(RaftStateError) {
        if let voted = record.votedID, !config.voters.contains(voted) || !config.isVoter {
            throw .inconsistentQuorumState("voted for \(voted), but voters are \(config.voters.sorted()) and this is node \(nodeID)")
        }
        if let leaderID = record.leaderID, !config.voters.contains(leaderID) {
            throw .inconsistentQuorumState("leader \(leaderID) is not among the voters \(config.voters.sorted())")
        }
        epoch = record.leaderEpoch
        votedID = record.votedID
        if record.leaderEpoch < log.lastEpoch {
            // The log has seen a newer epoch than the quorum state: trust the log (KRaft logs a warning).
            becomeUnattached(epoch: log.lastEpoch)
        } else if record.leaderID == nodeID {
            // A former leader must not vote again in its epoch, nor reuse an (offset, epoch) pair.
            state = .resigned(ResignedState(electionDeadline: now + randomElectionTimeout(), preferredSuccessors: [],
                                            unacknowledged: Set(remoteVoters),
                                            retryAt: now + endQuorumEpochIntervalTicks))
            sendEndQuorumEpoch()
        } else if record.votedID == nodeID {
            state = .candidate(CandidateState(electionDeadline: now + randomElectionTimeout()))
            recordVote(from: nodeID, granted: true)
            if case .candidate = state { sendVoteRequests(preVote: false) }
        } else if let leaderID = record.leaderID {
            state = .follower(FollowerState(leaderID: leaderID, fetchDeadline: now + Int64(config.fetchTimeoutTicks)))
            sendFetch()
        } else {
            state = .unattached(newUnattachedState())
        }
    }

    /// The leader id the quorum-state file should hold for the current role.
    var persistentLeaderID: ReplicaID? {
        switch state {
        case .follower(let follower): follower.leaderID
        case .leader, .resigned: nodeID
        case .prospective(let prospective): prospective.leaderID
        case .unattached, .candidate: nil
        }
    }

    /// Emits `setQuorumState` when the durable part of the state changed.
    mutating func persistQuorumState() {
        let record = QuorumStateRecord(leaderEpoch: epoch, leaderID: persistentLeaderID, votedID: votedID)
        if record != persistedQuorumState { persist(.setQuorumState(record)) }
    }

    mutating func newUnattachedState() -> UnattachedState {
        config.isVoter
            ? UnattachedState(electionDeadline: now + randomElectionTimeout(), discoveryAt: .max)
            : UnattachedState(electionDeadline: .max, discoveryAt: now)
    }

    /// Unattached in `newEpoch` (a newer epoch, or the same one after a lost pre-vote; observers also
    /// after losing their leader). Durable.
    mutating func becomeUnattached(epoch newEpoch: LeaderEpoch) {
        precondition(newEpoch >= epoch, "node \(nodeID): Unattached in epoch \(newEpoch) from \(epoch)")
        if newEpoch > epoch {
            epoch = newEpoch
            votedID = nil
        }
        state = .unattached(newUnattachedState())
        persistQuorumState()
    }

    /// Follower of `leaderID` in `newEpoch`; keeps the vote when the epoch does not change. Durable.
    mutating func becomeFollower(epoch newEpoch: LeaderEpoch, leaderID: ReplicaID) {
        precondition(leaderID != nodeID && newEpoch >= epoch,
                     "node \(nodeID): Follower of \(leaderID) in epoch \(newEpoch) from epoch \(epoch)")
        if newEpoch > epoch {
            epoch = newEpoch
            votedID = nil
        }
        state = .follower(FollowerState(leaderID: leaderID, fetchDeadline: now + Int64(config.fetchTimeoutTicks)))
        persistQuorumState()
        sendFetch()
    }

    /// Prospective (KIP-996): ask for pre-votes in the current epoch. Memory only.
    mutating func becomeProspective() {
        precondition(config.isVoter, "observer \(nodeID) cannot become Prospective")
        let leaderID: ReplicaID? = switch state {
        case .follower(let follower): follower.leaderID
        case .prospective(let prospective): prospective.leaderID
        default: nil
        }
        state = .prospective(ProspectiveState(leaderID: leaderID, electionDeadline: now + randomElectionTimeout()))
        recordVote(from: nodeID, granted: true)
        if case .prospective = state { sendVoteRequests(preVote: true) }
    }

    /// Candidate in the next epoch, voting for itself. Durable.
    mutating func becomeCandidate() {
        epoch = epoch.next
        votedID = nodeID
        state = .candidate(CandidateState(electionDeadline: now + randomElectionTimeout()))
        persistQuorumState()
        recordVote(from: nodeID, granted: true)
        if case .candidate = state { sendVoteRequests(preVote: false) }
    }

    /// Leader of the current epoch: persist, append the leader-change record, announce with
    /// BeginQuorumEpoch (KIP-595 "Leader Election").
    mutating func becomeLeader(grantingVoters: Set<ReplicaID>) {
        let epochStartOffset = log.endOffset
        state = .leader(LeaderState(epochStartOffset: epochStartOffset, grantingVoters: grantingVoters,
                                    checkQuorumDeadline: now + Int64(config.checkQuorumTimeoutTicks)))
        persistQuorumState()
        let leaderChange = LeaderChangeMessage(leaderID: nodeID, voters: sortedVoters,
                                               grantingVoters: grantingVoters.sorted())
        persist(.appendEntries([LogEntry(offset: epochStartOffset, epoch: epoch, record: .leaderChange(leaderChange))]))
        for voter in remoteVoters { sendBeginQuorumEpoch(to: voter) }
        maybeAdvanceHighWatermark()
    }

    /// Resigned: stop leading the current epoch and ask the voters to elect a successor now
    /// (EndQuorumEpoch). Memory only: the quorum-state file still names this node, which is what makes
    /// a restart come back Resigned.
    mutating func becomeResigned(preferredSuccessors: [ReplicaID]) {
        state = .resigned(ResignedState(electionDeadline: now + randomElectionTimeout(),
                                        preferredSuccessors: preferredSuccessors,
                                        unacknowledged: Set(remoteVoters),
                                        retryAt: now + endQuorumEpochIntervalTicks))
        sendEndQuorumEpoch()
    }

    /// Learns from the epoch and leader any message carries (KRaft's `maybeTransition`): a newer
    /// epoch moves this node to it (Follower if the leader is named, else Unattached); a leader named
    /// for the current epoch ends an election in progress.
    /// - Returns: whether the role changed, in which case the message belonged to the old state.
    @discardableResult
    mutating func observeEpoch(_ messageEpoch: LeaderEpoch, leaderID: ReplicaID?) -> Bool {
        let leader = leaderID.flatMap { $0 != nodeID && config.voters.contains($0) ? $0 : nil }
        if messageEpoch > epoch {
            if let leader {
                becomeFollower(epoch: messageEpoch, leaderID: leader)
            } else {
                becomeUnattached(epoch: messageEpoch)
            }
            return true
        }
        guard messageEpoch == epoch, let leader else { return false }
        switch state {
        case .prospective(let prospective) where prospective.leaderID == leader:
            // Already known (KRaft's `maybeTransition` only acts when no leader is known): this node
            // is asking for pre-votes precisely because that leader seems gone, or has resigned.
            return false
        case .unattached, .prospective, .candidate:
            becomeFollower(epoch: epoch, leaderID: leader)
            return true
        case .follower, .leader, .resigned:
            return false
        }
    }

    // MARK: Elections

    /// Counts a (pre-)vote in the current election and moves on when it is decided.
    mutating func recordVote(from voter: ReplicaID, granted: Bool) {
        guard config.voters.contains(voter) else { return }
        switch state {
        case .prospective(var prospective):
            prospective.tally.record(voter, granted: granted)
            state = .prospective(prospective)
            if prospective.tally.isWon(majority: config.majority) {
                becomeCandidate()
            } else if prospective.tally.isLost(voterCount: config.voters.count, majority: config.majority) {
                if let leaderID = prospective.leaderID {
                    becomeFollower(epoch: epoch, leaderID: leaderID)
                } else {
                    becomeUnattached(epoch: epoch)
                }
            }
        case .candidate(var candidate):
            candidate.tally.record(voter, granted: granted)
            state = .candidate(candidate)
            if candidate.tally.isWon(majority: config.majority) {
                becomeLeader(grantingVoters: candidate.tally.granted)
            }
        default:
            break
        }
    }

    mutating func sendVoteRequests(preVote: Bool) {
        let request = VoteRequest(epoch: epoch, lastEndOffsetAndEpoch: log.endOffsetAndEpoch, preVote: preVote)
        for voter in remoteVoters { send(.vote(request), to: voter) }
    }

    mutating func sendBeginQuorumEpoch(to voter: ReplicaID) {
        guard case .leader(var leader) = state else { return }
        leader.beginQuorumEpochSentAt[voter] = now
        state = .leader(leader)
        send(.beginQuorumEpoch(BeginQuorumEpochRequest(epoch: epoch, leaderID: nodeID)), to: voter)
    }

    mutating func sendEndQuorumEpoch() {
        guard case .resigned(let resigned) = state else { return }
        let request = EndQuorumEpochRequest(epoch: epoch, leaderID: nodeID,
                                            preferredSuccessors: resigned.preferredSuccessors)
        for voter in resigned.unacknowledged.sorted() { send(.endQuorumEpoch(request), to: voter) }
    }
}

// Fetch and FetchSnapshot: followers pull, the leader validates positions (KIP-595 "Fetch", KIP-630).
extension RaftNode {
    // MARK: Leader side

    mutating func handleFetch(_ request: FetchRequest, from replica: ReplicaID) {
        guard case .leader(var leader) = state, request.epoch == epoch else {
            replyToFetch(request, to: replica, error: fetchError(requestEpoch: request.epoch), result: .entries([]))
            return
        }
        let isRemoteVoter = replica != nodeID && config.voters.contains(replica)
        if isRemoteVoter {
            leader.lastFetchAt[replica] = now
            leader.fetchedSinceCheck.insert(replica)
            if leader.fetchedSinceCheck.count + 1 >= config.majority {
                leader.checkQuorumDeadline = now + Int64(config.checkQuorumTimeoutTicks)
                leader.fetchedSinceCheck.removeAll()
            }
        }
        leader.parked[replica] = nil
        switch log.validateFetch(fetchOffset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch) {
        case .diverging(let end):
            state = .leader(leader)
            replyToFetch(request, to: replica, error: nil, result: .divergingEpoch(end))
        case .snapshot(let snapshotID):
            state = .leader(leader)
            replyToFetch(request, to: replica, error: nil, result: .snapshot(snapshotID))
        case .valid:
            if isRemoteVoter {
                // A valid fetch proves the replica holds the leader's log below the fetch offset. Keep
                // the largest: a delayed duplicate of an older fetch says nothing new.
                leader.fetchOffsets[replica] = max(leader.fetchOffsets[replica] ?? 0, request.fetchOffset)
            }
            let replicaHasHighWatermark = (request.highWatermark ?? -1) >= (highWatermark ?? -1)
            let parkable = request.fetchOffset >= log.endOffset && replicaHasHighWatermark && config.fetchMaxWaitTicks > 0
            if parkable {
                leader.parked[replica] = ParkedFetch(request: request, deadline: now + Int64(config.fetchMaxWaitTicks))
            }
            state = .leader(leader)
            // If the high watermark moves now, every parked fetch is answered, this one included.
            maybeAdvanceHighWatermark()
            if !parkable { answerParkedFetch(of: replica, request: request) }
        }
    }

    func fetchError(requestEpoch: LeaderEpoch) -> RaftError {
        if requestEpoch < epoch { return .fencedLeaderEpoch }
        if requestEpoch > epoch { return .unknownLeaderEpoch }
        return .notLeaderOrFollower
    }

    mutating func replyToFetch(_ request: FetchRequest, to replica: ReplicaID, error: RaftError?, result: FetchResult<Payload>) {
        let response = FetchResponse(error: error, epoch: epoch, leaderID: leader, highWatermark: highWatermark,
                                     requestID: request.requestID, fetchOffset: request.fetchOffset, result: result)
        send(.fetchResponse(response), to: replica)
    }

    /// Answers `replica`'s parked fetch (or `request`, not parked) with whatever the log now has.
    mutating func answerParkedFetch(of replica: ReplicaID, request: FetchRequest? = nil) {
        guard case .leader(var leader) = state else { return }
        let parked = leader.parked.removeValue(forKey: replica)
        state = .leader(leader)
        guard let request = request ?? parked?.request else { return }
        let entries = log.entries(from: request.fetchOffset, maxCount: config.maxEntriesPerFetch)
        replyToFetch(request, to: replica, error: nil, result: .entries(entries))
    }

    /// Answers every parked fetch: new entries arrived or the high watermark moved.
    mutating func releaseParkedFetches() {
        guard case .leader(let leader) = state, !leader.parked.isEmpty else { return }
        for replica in leader.parked.keys.sorted() { answerParkedFetch(of: replica) }
    }

    /// KRaft's `LeaderState.maybeUpdateHighWatermark`: the largest offset a majority of voters (the
    /// leader by its log end) has, once that is past this epoch's leader-change record. Only entries
    /// of the current epoch commit by counting; earlier ones commit with them (Raft §5.4.2).
    mutating func maybeAdvanceHighWatermark() {
        guard case .leader(let leader) = state else { return }
        var positions = sortedVoters.map { $0 == nodeID ? log.endOffset : (leader.fetchOffsets[$0] ?? -1) }
        positions.sort(by: >)
        let replicated = positions[config.voters.count / 2]
        guard replicated > leader.epochStartOffset, replicated > (highWatermark ?? -1) else { return }
        highWatermark = replicated
        releaseParkedFetches()
    }

    mutating func handleFetchSnapshot(_ request: FetchSnapshotRequest, from replica: ReplicaID) {
        let error: RaftError?
        var snapshot: RaftSnapshot?
        if case .leader = state, request.epoch == epoch {
            snapshot = log.snapshot.flatMap { $0.id == request.snapshotID ? $0 : nil }
            error = snapshot == nil ? .snapshotNotFound : nil
        } else {
            error = fetchError(requestEpoch: request.epoch)
        }
        let response = FetchSnapshotResponse(error: error, epoch: epoch, leaderID: leader, requestID: request.requestID,
                                             snapshot: snapshot)
        send(.fetchSnapshotResponse(response), to: replica)
    }

    // MARK: Follower side

    /// Sends the next Fetch (or FetchSnapshot, while one is being fetched) to the leader.
    mutating func sendFetch() {
        guard case .follower(var follower) = state else { return }
        let requestID = nextRequest()
        follower.inFlight = InFlightFetch(requestID: requestID, sentAt: now, fetchOffset: log.endOffset)
        state = .follower(follower)
        if let snapshotID = follower.fetchingSnapshot {
            send(.fetchSnapshot(FetchSnapshotRequest(epoch: epoch, snapshotID: snapshotID, requestID: requestID)),
                 to: follower.leaderID)
        } else {
            let request = FetchRequest(epoch: epoch, fetchOffset: log.endOffset, lastFetchedEpoch: log.lastEpoch,
                                       highWatermark: highWatermark, requestID: requestID)
            send(.fetch(request), to: follower.leaderID)
        }
    }

    /// The in-flight request `requestID` answered by the leader of the current epoch, if it is one.
    private mutating func takeInFlight(requestID: UInt64, from sender: ReplicaID, epoch responseEpoch: LeaderEpoch)
        -> FollowerState?
    {
        guard case .follower(var follower) = state, follower.leaderID == sender, responseEpoch == epoch,
              follower.inFlight?.requestID == requestID
        else { return nil }
        follower.inFlight = nil
        return follower
    }

    mutating func handleFetchResponse(_ response: FetchResponse<Payload>, from sender: ReplicaID) {
        if observeEpoch(response.epoch, leaderID: response.leaderID) { return }
        guard response.error == nil else { return }  // retried when the request times out
        guard var follower = takeInFlight(requestID: response.requestID, from: sender, epoch: response.epoch) else { return }
        follower.hasFetchedFromLeader = true
        if !follower.leaderResigned { follower.fetchDeadline = now + Int64(config.fetchTimeoutTicks) }
        switch response.result {
        case .entries(let entries):
            state = .follower(follower)
            guard response.fetchOffset == log.endOffset else { break }
            if let first = entries.first {
                precondition(first.offset == log.endOffset,
                             "node \(nodeID): fetch response starts at \(first.offset), log ends at \(log.endOffset)")
                persist(.appendEntries(entries))
            }
            // The leader validated this fetch, so the whole local log is a prefix of the leader's and
            // everything below min(leader's high watermark, log end) is committed here too.
            if let leaderHighWatermark = response.highWatermark {
                raiseHighWatermark(to: min(leaderHighWatermark, log.endOffset))
            }
        case .divergingEpoch(let end):
            state = .follower(follower)
            let truncation = log.truncationOffset(for: end)
            precondition(truncation >= (highWatermark ?? 0),
                         "node \(nodeID): divergence \(end) would truncate to \(truncation), below the high watermark \(highWatermark ?? 0)")
            if truncation < log.endOffset { persist(.truncateLog(from: truncation)) }
        case .snapshot(let snapshotID):
            follower.fetchingSnapshot = snapshotID
            state = .follower(follower)
        }
        sendFetch()
    }

    mutating func handleFetchSnapshotResponse(_ response: FetchSnapshotResponse, from sender: ReplicaID) {
        if observeEpoch(response.epoch, leaderID: response.leaderID) { return }
        guard var follower = takeInFlight(requestID: response.requestID, from: sender, epoch: response.epoch) else { return }
        follower.fetchingSnapshot = nil
        guard response.error == nil, let snapshot = response.snapshot else {
            // Most likely the leader took a newer snapshot; a plain fetch names it.
            state = .follower(follower)
            sendFetch()
            return
        }
        follower.hasFetchedFromLeader = true
        if !follower.leaderResigned { follower.fetchDeadline = now + Int64(config.fetchTimeoutTicks) }
        state = .follower(follower)
        installSnapshotFromLeader(snapshot)
        sendFetch()
    }

    /// Replaces the whole local log with the leader's snapshot (KIP-630), which is committed.
    private mutating func installSnapshotFromLeader(_ snapshot: RaftSnapshot) {
        guard snapshot.id.offset > (highWatermark ?? log.startOffset), snapshot.id.offset > log.startOffset else { return }
        persist(.installSnapshot(snapshot))
        persist(.resetLog(startOffset: snapshot.id.offset))
        raiseHighWatermark(to: snapshot.id.offset)
        pending.snapshotToLoad = snapshot
        pending.committed.removeAll()
        appliedOffset = snapshot.id.offset
    }

    mutating func raiseHighWatermark(to offset: Offset) {
        if offset > (highWatermark ?? -1) { highWatermark = offset }
    }
}

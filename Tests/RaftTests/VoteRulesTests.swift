import Testing
@testable import Raft

/// KIP-595 "Vote": a voter grants at most one vote per epoch, only to a candidate whose log is at
/// least as up to date (epoch first, then offset), and the vote is persisted before it is sent.
@Suite("Vote granting")
struct VoteRulesTests {
    private func vote(_ node: inout TestNode, epoch: LeaderEpoch, last: OffsetAndEpoch, from candidate: ReplicaID,
                      preVote: Bool = false) -> (persist: [PersistAction<UInt64>], response: VoteResponse) {
        let request = VoteRequest(epoch: epoch, lastEndOffsetAndEpoch: last, preVote: preVote)
        let output = run(&node) { $0.handle(.vote(request), from: candidate) }
        return (output.persist, output.effects.voteResponses[0])
    }

    @Test("a vote needs a log at least as up to date: the last epoch counts before the length")
    func logUpToDate() throws {
        // Log: offsets 0...2 in epoch 1, 3...4 in epoch 2; its end is 5@2.
        var node = try TestNode(config: voteConfig(1), persistentState: persistedLog([1, 1, 1, 2, 2]))
        #expect(!vote(&node, epoch: 3, last: OffsetAndEpoch(offset: 50, epoch: 1), from: 2).response.voteGranted,
                "a longer log with an older last epoch is behind")
        #expect(!vote(&node, epoch: 4, last: OffsetAndEpoch(offset: 4, epoch: 2), from: 2).response.voteGranted,
                "a shorter log with the same last epoch is behind")
        #expect(vote(&node, epoch: 5, last: OffsetAndEpoch(offset: 5, epoch: 2), from: 2).response.voteGranted,
                "an equal log is up to date")
        #expect(vote(&node, epoch: 6, last: OffsetAndEpoch(offset: 1, epoch: 3), from: 3).response.voteGranted,
                "a newer last epoch wins even when shorter")
        #expect(node.epoch == 6)
    }

    @Test("one vote per epoch; asking again for the same candidate is fine")
    func oneVotePerEpoch() throws {
        var node = try TestNode(config: voteConfig(1))
        let end = OffsetAndEpoch(offset: 0, epoch: 0)
        let first = vote(&node, epoch: 5, last: end, from: 2)
        #expect(first.response.voteGranted && first.response.epoch == 5)
        #expect(first.persist.contains(.setQuorumState(QuorumStateRecord(leaderEpoch: 5, votedID: 2))),
                "the vote is among the persist actions of the step that sends it")
        #expect(!vote(&node, epoch: 5, last: end, from: 3).response.voteGranted)
        #expect(vote(&node, epoch: 5, last: end, from: 2).response.voteGranted)
        #expect(vote(&node, epoch: 6, last: end, from: 3).response.voteGranted, "a new epoch frees the vote")
    }

    @Test("a persisted vote survives a restart")
    func voteSurvivesRestart() throws {
        var node = try TestNode(config: voteConfig(1))
        var disk = RaftPersistentState<UInt64>()
        let granted = vote(&node, epoch: 5, last: OffsetAndEpoch(offset: 0, epoch: 0), from: 2)
        #expect(granted.response.voteGranted)
        for action in granted.persist { disk.apply(action) }

        var restarted = try TestNode(config: voteConfig(1), persistentState: disk)
        _ = run(&restarted) { $0.flush() }
        #expect(restarted.epoch == 5 && restarted.votedID == 2)
        #expect(!vote(&restarted, epoch: 5, last: OffsetAndEpoch(offset: 9, epoch: 4), from: 3).response.voteGranted)
        #expect(vote(&restarted, epoch: 5, last: OffsetAndEpoch(offset: 0, epoch: 0), from: 2).response.voteGranted)
    }

    @Test("requests from an older epoch are fenced")
    func staleEpoch() throws {
        var node = try TestNode(config: voteConfig(1), persistentState: persistedLog([], quorum: QuorumStateRecord(leaderEpoch: 7)))
        let stale = vote(&node, epoch: 6, last: OffsetAndEpoch(offset: 0, epoch: 0), from: 2)
        #expect(!stale.response.voteGranted && stale.response.error == .fencedLeaderEpoch && stale.response.epoch == 7)
        #expect(stale.persist.isEmpty)
    }

    @Test("pre-votes bind nobody and are not persisted")
    func preVotesAreNotBinding() throws {
        var node = try TestNode(config: voteConfig(1))
        let end = OffsetAndEpoch(offset: 0, epoch: 0)
        let preVote = vote(&node, epoch: 0, last: end, from: 2, preVote: true)
        #expect(preVote.response.voteGranted && preVote.response.preVote)
        #expect(preVote.persist.isEmpty && node.votedID == nil && node.epoch == 0)
        #expect(vote(&node, epoch: 0, last: end, from: 3, preVote: true).response.voteGranted)
        #expect(vote(&node, epoch: 1, last: end, from: 3).response.voteGranted)
    }

    @Test("a follower that fetched from its leader rejects votes and pre-votes of any epoch (KIP-996)")
    func followerWithLiveLeaderRejects() throws {
        var node = try TestNode(config: voteConfig(1))
        let begin = run(&node) { $0.handle(.beginQuorumEpoch(BeginQuorumEpochRequest(epoch: 2, leaderID: 2)), from: 2) }
        #expect(node.role == .follower && node.leader == 2)
        let fetch = begin.effects.fetchRequests[0]
        let response = FetchResponse<UInt64>(epoch: 2, leaderID: 2, highWatermark: nil, requestID: fetch.requestID,
                                             fetchOffset: fetch.fetchOffset, result: .entries([]))
        _ = run(&node) { $0.handle(.fetchResponse(response), from: 2) }

        let end = OffsetAndEpoch(offset: 0, epoch: 0)
        let standard = vote(&node, epoch: 3, last: end, from: 3)
        #expect(!standard.response.voteGranted && standard.persist.isEmpty)
        #expect(!vote(&node, epoch: 2, last: end, from: 3, preVote: true).response.voteGranted)
        #expect(node.epoch == 2 && node.role == .follower, "the epoch did not move")

        // Once the leader says it is leaving (EndQuorumEpoch), votes are possible again.
        let end2 = EndQuorumEpochRequest(epoch: 2, leaderID: 2, preferredSuccessors: [3, 1])
        _ = run(&node) { $0.handle(.endQuorumEpoch(end2), from: 2) }
        #expect(vote(&node, epoch: 2, last: end, from: 3, preVote: true).response.voteGranted)
        #expect(vote(&node, epoch: 3, last: end, from: 3).response.voteGranted)
    }

    @Test("leaders, candidates and resigned leaders refuse binding votes in their epoch")
    func busyRolesRefuse() throws {
        var candidate = try TestNode(config: voteConfig(1),
                                     persistentState: persistedLog([], quorum: QuorumStateRecord(leaderEpoch: 4, votedID: 1)))
        _ = run(&candidate) { $0.flush() }
        #expect(candidate.role == .candidate)
        let end = OffsetAndEpoch(offset: 0, epoch: 0)
        #expect(!vote(&candidate, epoch: 4, last: end, from: 2).response.voteGranted)

        var resigned = try TestNode(config: voteConfig(1),
                                    persistentState: persistedLog([], quorum: QuorumStateRecord(leaderEpoch: 4, leaderID: 1, votedID: 1)))
        _ = run(&resigned) { $0.flush() }
        #expect(resigned.role == .resigned)
        #expect(!vote(&resigned, epoch: 4, last: end, from: 2).response.voteGranted)
        #expect(!vote(&resigned, epoch: 4, last: end, from: 2, preVote: true).response.voteGranted)
    }
}

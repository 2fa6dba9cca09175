import Testing
@testable import Raft

/// KIP-996: an expired fetch timeout makes a node Prospective, which asks for pre-votes without
/// bumping (or persisting) its epoch; only a majority of pre-votes makes it a Candidate.
@Suite("Pre-vote")
struct PreVoteTests {
    /// Node 1 following leader 2 in epoch 2.
    private func follower() throws -> TestNode {
        var node = try TestNode(config: voteConfig(1))
        _ = run(&node) { $0.handle(.beginQuorumEpoch(BeginQuorumEpochRequest(epoch: 2, leaderID: 2)), from: 2) }
        return node
    }

    @Test("an expired fetch timeout makes a Prospective that keeps its epoch and persists nothing")
    func prospectiveKeepsEpoch() throws {
        var node = try follower()
        var tickOutput: (persist: [PersistAction<UInt64>], effects: RaftEffects<UInt64>)?
        for _ in 0..<node.config.fetchTimeoutTicks {
            let output = run(&node) { $0.tick() }
            if node.role == .prospective { tickOutput = output; break }
        }
        let output = try #require(tickOutput, "no Prospective after the fetch timeout")
        #expect(node.epoch == 2)
        #expect(output.persist.isEmpty, "Prospective is a memory-only state")
        let requests = output.effects.voteRequests
        #expect(requests.count == 2 && requests.allSatisfy { $0.preVote && $0.epoch == 2 })

        // Rejections from a majority send it back to the leader it knew, still in epoch 2.
        let rejection = VoteResponse(epoch: 2, leaderID: nil, voteGranted: false, preVote: true)
        _ = run(&node) { $0.handle(.voteResponse(rejection), from: 3) }
        _ = run(&node) { $0.handle(.voteResponse(rejection), from: 2) }
        #expect(node.role == .follower && node.leader == 2 && node.epoch == 2)
    }

    @Test("a majority of pre-votes makes a Candidate in the next epoch, persisted")
    func preVoteMajorityMakesCandidate() throws {
        var node = try follower()
        while node.role != .prospective { _ = run(&node) { $0.tick() } }
        let granted = VoteResponse(epoch: 2, leaderID: nil, voteGranted: true, preVote: true)
        let output = run(&node) { $0.handle(.voteResponse(granted), from: 3) }
        #expect(node.role == .candidate && node.epoch == 3 && node.votedID == 1)
        #expect(output.persist == [.setQuorumState(QuorumStateRecord(leaderEpoch: 3, votedID: 1))])
        #expect(output.effects.voteRequests.allSatisfy { !$0.preVote && $0.epoch == 3 })
    }

    @Test("a newly learned leader ends the pre-vote (a vote response names it)")
    func responseNamingLeaderEndsPreVote() throws {
        // Restarted in epoch 2 knowing no leader: Unattached, then Prospective.
        var node = try TestNode(config: voteConfig(1), persistentState: persistedLog([], quorum: QuorumStateRecord(leaderEpoch: 2)))
        while node.role != .prospective { _ = run(&node) { $0.tick() } }
        let response = VoteResponse(epoch: 2, leaderID: 2, voteGranted: false, preVote: true)
        _ = run(&node) { $0.handle(.voteResponse(response), from: 3) }
        #expect(node.role == .follower && node.leader == 2 && node.epoch == 2)
    }

    @Test("hearing of the leader it already suspects does not end a pre-vote")
    func knownLeaderDoesNotEndPreVote() throws {
        var node = try follower()
        while node.role != .prospective { _ = run(&node) { $0.tick() } }
        // Node 3 still follows 2 (it has not noticed yet) and says so while granting.
        let response = VoteResponse(epoch: 2, leaderID: 2, voteGranted: true, preVote: true)
        _ = run(&node) { $0.handle(.voteResponse(response), from: 3) }
        #expect(node.role == .candidate && node.epoch == 3)
    }

    @Test("a partitioned node that rejoins does not disrupt a healthy leader")
    func rejoiningNodeDoesNotDisrupt() {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let epoch = cluster.node(leader).epoch
        let loner = cluster.voters.first { $0 != leader }!
        cluster.isolate(loner)
        for payload in 1...20 as ClosedRange<UInt64> {
            _ = cluster.propose(payload, at: leader)
            cluster.run(ticks: 10)
        }
        // 200 ticks is 10 election timeouts: without pre-vote the loner's epoch would have soared.
        #expect(cluster.node(loner).epoch == epoch)
        #expect(cluster.node(leader).role == .leader && cluster.node(leader).epoch == epoch)

        cluster.heal()
        cluster.run(ticks: 60)
        #expect(cluster.node(leader).role == .leader && cluster.node(leader).epoch == epoch, "the leader was deposed")
        #expect(cluster.node(loner).role == .follower && cluster.node(loner).leader == leader)
        #expect(cluster.appliedPayloads(loner) == Array(1...20))
    }
}

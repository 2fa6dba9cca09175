import Testing
@testable import Raft

@Suite("Leader")
struct LeaderTests {
    /// Node 1 restarted as a Candidate of epoch 2 with three epoch-1 entries, then elected by node 2.
    private func leaderWithOldEntries() throws -> TestNode {
        var node = try TestNode(config: voteConfig(1),
                                persistentState: persistedLog([1, 1, 1], quorum: QuorumStateRecord(leaderEpoch: 2, votedID: 1)))
        _ = run(&node) { $0.flush() }
        #expect(node.role == .candidate)
        _ = run(&node) { $0.handle(.voteResponse(VoteResponse(epoch: 2, leaderID: nil, voteGranted: true, preVote: false)), from: 2) }
        #expect(node.role == .leader)
        return node
    }

    private func fetch(_ node: inout TestNode, from replica: ReplicaID, offset: Offset, lastEpoch: LeaderEpoch,
                       requestID: UInt64 = 1) -> (response: FetchResponse<UInt64>?, committed: [LogEntry<UInt64>]) {
        let request = FetchRequest(epoch: node.epoch, fetchOffset: offset, lastFetchedEpoch: lastEpoch, highWatermark: nil,
                                   requestID: requestID)
        let effects = run(&node) { $0.handle(.fetch(request), from: replica) }.effects
        return (effects.fetchResponses.first, effects.committed)
    }

    @Test("a new leader appends its leader-change record and announces itself")
    func leaderChangeRecord() throws {
        var node = try TestNode(config: voteConfig(1),
                                persistentState: persistedLog([1, 1, 1], quorum: QuorumStateRecord(leaderEpoch: 2, votedID: 1)))
        _ = run(&node) { $0.flush() }
        let won = run(&node) { $0.handle(.voteResponse(VoteResponse(epoch: 2, leaderID: nil, voteGranted: true, preVote: false)), from: 3) }
        let change = LogEntry<UInt64>(offset: 3, epoch: 2, record: .leaderChange(
            LeaderChangeMessage(leaderID: 1, voters: [1, 2, 3], grantingVoters: [1, 3])))
        #expect(won.persist == [.setQuorumState(QuorumStateRecord(leaderEpoch: 2, leaderID: 1, votedID: 1)), .appendEntries([change])])
        let announced = won.effects.messages.compactMap { envelope -> ReplicaID? in
            if case .beginQuorumEpoch(let request) = envelope.message, request.epoch == 2, request.leaderID == 1 { envelope.to } else { nil }
        }
        #expect(announced == [2, 3])
    }

    @Test("the high watermark advances only once an entry of the current epoch is on a majority")
    func highWatermarkNeedsCurrentEpoch() throws {
        var node = try leaderWithOldEntries()
        // Node 2 has the three old entries (offsets 0...2) but not the leader-change record at 3:
        // those entries are on a majority, yet committing them by counting is unsafe (Raft §5.4.2).
        let first = fetch(&node, from: 2, offset: 3, lastEpoch: 1)
        let firstResponse = try #require(first.response)
        #expect(node.highWatermark == nil && firstResponse.highWatermark == nil && first.committed.isEmpty)
        #expect(firstResponse.result.entryOffsets == [3])
        let second = fetch(&node, from: 2, offset: 4, lastEpoch: 2, requestID: 2)
        #expect(node.highWatermark == 4)
        #expect(second.response?.highWatermark == 4)
        #expect(second.committed.map(\.offset) == [0, 1, 2, 3], "old entries commit together with the new epoch's first")
    }

    @Test("the high watermark never goes back, even when a fetch offset does")
    func highWatermarkMonotonic() throws {
        var node = try leaderWithOldEntries()
        _ = node.propose(10)
        _ = fetch(&node, from: 2, offset: 5, lastEpoch: 2)
        #expect(node.highWatermark == 5)
        _ = fetch(&node, from: 2, offset: 4, lastEpoch: 2, requestID: 2)  // a delayed older fetch
        #expect(node.highWatermark == 5)
    }

    @Test("check-quorum: a leader that no majority fetches from resigns after 1.5 × the fetch timeout")
    func checkQuorum() {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let epoch = cluster.node(leader).epoch
        let fetchTimeout = cluster.node(leader).config.fetchTimeoutTicks
        cluster.isolate(leader)
        var ticks = 0
        while cluster.node(leader).role == .leader && ticks < 10 * fetchTimeout {
            cluster.tick(leader)
            ticks += 1
        }
        #expect(cluster.node(leader).role == .resigned && cluster.node(leader).epoch == epoch)
        #expect(ticks == fetchTimeout * 3 / 2, "resigned after \(ticks) ticks")
        let endQuorum = cluster.queue.filter { if case .endQuorumEpoch = $0.message { $0.from == leader } else { false } }
        #expect(Set(endQuorum.map(\.to)) == Set(cluster.voters.filter { $0 != leader }), "EndQuorumEpoch to the other voters")
    }

    @Test("a leader that one follower of three still fetches from keeps leading")
    func checkQuorumWithMajority() {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let lost = cluster.voters.first { $0 != leader }!
        cluster.isolate(lost)
        cluster.run(ticks: 200)
        #expect(cluster.node(leader).role == .leader)
    }

    @Test("EndQuorumEpoch gets a successor elected well before a fetch timeout")
    func gracefulResignation() throws {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        cluster.run(ticks: 5)
        var crashing = cluster

        try cluster.resign(leader)
        #expect(cluster.node(leader).role == .resigned)
        let handover = cluster.run(upTo: 200) { $0.isStable && $0.leaders != [leader] }

        crashing.crash(leader)
        let failover = crashing.run(upTo: 200) { $0.isStable && $0.leaders != [leader] }

        let fetchTimeout = cluster.node(leader).config.fetchTimeoutTicks
        let graceful = try #require(handover)
        let crashed = try #require(failover)
        #expect(graceful < fetchTimeout, "graceful handover took \(graceful) ticks")
        #expect(crashed >= fetchTimeout, "a crash is only noticed by the fetch timeout")
    }

    @Test("only the leader accepts proposals; others name the leader")
    func proposeOnlyAtLeader() {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let follower = cluster.voters.first { $0 != leader }!
        var node = cluster.node(follower)
        #expect(node.propose(1) == .failure(NotLeaderError(leaderHint: leader, epoch: node.epoch)))
        let offset = cluster.propose(2, at: leader)
        #expect(offset != nil)
        cluster.run(ticks: 5)
        #expect(cluster.voters.allSatisfy { cluster.appliedPayloads($0) == [2] })
    }
}

extension FetchResult<UInt64> {
    var entryOffsets: [Offset]? {
        if case .entries(let entries) = self { entries.map(\.offset) } else { nil }
    }
}


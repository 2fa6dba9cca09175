import Testing
@testable import Raft

/// KIP-595 "Fetch": followers pull; the leader validates (fetch offset, last fetched epoch) and
/// answers entries, a diverging epoch to truncate to, or a snapshot id.
@Suite("Replication")
struct ReplicationTests {
    @Test("a follower with a divergent tail truncates to the diverging epoch and catches up")
    func divergingEpochTruncation() {
        // Node 1 kept two entries from an epoch-2 leader that never committed them; nodes 2 and 3 have
        // three entries from epoch 3 at the same offsets.
        let disks: [ReplicaID: RaftPersistentState<UInt64>] = [
            1: persistedLog([1, 1, 1, 2, 2], quorum: QuorumStateRecord(leaderEpoch: 3)),
            2: persistedLog([1, 1, 1, 3, 3, 3], quorum: QuorumStateRecord(leaderEpoch: 3)),
            3: persistedLog([1, 1, 1, 3, 3, 3], quorum: QuorumStateRecord(leaderEpoch: 3)),
        ]
        var cluster = TestCluster(voters: [1, 2, 3], disks: disks)
        let leader = cluster.electLeader()
        #expect(leader != 1, "node 1's log is behind (last epoch 2 < 3), so it cannot win")
        cluster.run(ticks: 10)
        #expect(cluster.persisted[1, default: []].contains(.truncateLog(from: 3)))
        let leaderEntries = cluster.node(leader).log.entries
        #expect(cluster.node(1).log.entries == leaderEntries)
        #expect(cluster.node(1).highWatermark == cluster.node(leader).logEndOffset)
    }

    @Test("the follower repeats the divergence check across several epochs (KIP-279)")
    func multiStepDivergence() throws {
        // Leader log: epoch 1 at 0...1, epoch 2 at 2...3, epoch 4 at 4...5. Follower log: epoch 1 at
        // 0...2, epoch 3 at 3...4. Epoch 3 is unknown to the leader, and the follower's epoch 1 runs
        // one entry longer than the leader's: two truncations, then a valid fetch.
        let leaderLog = persistedLog([1, 1, 2, 2, 4, 4]).log
        var followerLog = persistedLog([1, 1, 1, 3, 3]).log
        var rounds = 0
        while true {
            rounds += 1
            let verdict = leaderLog.validateFetch(fetchOffset: followerLog.endOffset, lastFetchedEpoch: followerLog.lastEpoch)
            guard case .diverging(let end) = verdict else {
                #expect(verdict == .valid)
                break
            }
            followerLog.apply(.truncateLog(from: followerLog.truncationOffset(for: end)))
            #expect(rounds < 5)
        }
        #expect(rounds == 3)
        #expect(followerLog.endOffsetAndEpoch == OffsetAndEpoch(offset: 2, epoch: 1))
    }

    @Test("a stale fetch response (old request id) is ignored")
    func staleResponseIgnored() throws {
        var node = try TestNode(config: voteConfig(1))
        let begin = run(&node) { $0.handle(.beginQuorumEpoch(BeginQuorumEpochRequest(epoch: 2, leaderID: 2)), from: 2) }
        let fetch = begin.effects.fetchRequests[0]
        let entries = [LogEntry<UInt64>(offset: 0, epoch: 2, record: .data(7))]
        let stale = FetchResponse(epoch: 2, leaderID: 2, highWatermark: 1, requestID: fetch.requestID + 100,
                                  fetchOffset: 0, result: .entries(entries))
        let ignored = run(&node) { $0.handle(.fetchResponse(stale), from: 2) }
        #expect(ignored.persist.isEmpty && node.logEndOffset == 0)
        let fresh = FetchResponse(epoch: 2, leaderID: 2, highWatermark: 1, requestID: fetch.requestID,
                                  fetchOffset: 0, result: .entries(entries))
        let applied = run(&node) { $0.handle(.fetchResponse(fresh), from: 2) }
        #expect(applied.persist == [.appendEntries(entries)])
        #expect(applied.effects.committed == entries, "committed only once persisted: in the same step, after persist")
        let duplicate = run(&node) { $0.handle(.fetchResponse(fresh), from: 2) }
        #expect(duplicate.persist.isEmpty && duplicate.effects.committed.isEmpty, "delivered once")
    }

    @Test("fetch responses carry the high watermark; a follower never commits past what it validated")
    func followerHighWatermark() throws {
        var node = try TestNode(config: voteConfig(1), persistentState: persistedLog([1, 1, 2, 2, 2]))
        let begin = run(&node) { $0.handle(.beginQuorumEpoch(BeginQuorumEpochRequest(epoch: 3, leaderID: 2)), from: 2) }
        let fetch = begin.effects.fetchRequests[0]
        #expect(fetch.fetchOffset == 5 && fetch.lastFetchedEpoch == 2)
        // The leader says: your epoch 2 ends at 3 in my log, and my high watermark is 6.
        let diverging = FetchResponse<UInt64>(epoch: 3, leaderID: 2, highWatermark: 6, requestID: fetch.requestID,
                                              fetchOffset: 5, result: .divergingEpoch(OffsetAndEpoch(offset: 3, epoch: 2)))
        let truncated = run(&node) { $0.handle(.fetchResponse(diverging), from: 2) }
        #expect(truncated.persist == [.truncateLog(from: 3)])
        #expect(node.highWatermark == nil, "a diverging answer says nothing about what is committed here")
        let next = truncated.effects.fetchRequests[0]
        #expect(next.fetchOffset == 3 && next.lastFetchedEpoch == 2)
    }
}

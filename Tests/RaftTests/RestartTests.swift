import Testing
@testable import Raft

/// Restart from persisted state only (KRaft's `QuorumState.initialize`).
@Suite("Restart")
struct RestartTests {
    @Test("a restarted leader comes back Resigned and never leads its old epoch again")
    func leaderRestartsResigned() {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let epoch = cluster.node(leader).epoch
        cluster.crash(leader)
        cluster.restart(leader)
        cluster.flush(leader)
        #expect(cluster.node(leader).role == .resigned && cluster.node(leader).epoch == epoch)
        cluster.run(upTo: 300) { $0.isStable }
        #expect(cluster.isStable)
        let newLeader = cluster.leaders[0]
        #expect(cluster.node(newLeader).epoch > epoch)
    }

    @Test("a node restarts in the role its quorum state implies")
    func rolesFromQuorumState() throws {
        let cases: [(QuorumStateRecord, RaftRole)] = [
            (QuorumStateRecord(leaderEpoch: 4), .unattached),
            (QuorumStateRecord(leaderEpoch: 4, votedID: 2), .unattached),
            (QuorumStateRecord(leaderEpoch: 4, votedID: 1), .candidate),
            (QuorumStateRecord(leaderEpoch: 4, leaderID: 2), .follower),
            (QuorumStateRecord(leaderEpoch: 4, leaderID: 1, votedID: 1), .resigned),
        ]
        for (record, role) in cases {
            let node = try TestNode(config: voteConfig(1), persistentState: persistedLog([1, 2], quorum: record))
            #expect(node.role == role, "\(record)")
            #expect(node.epoch == 4 && node.votedID == record.votedID)
        }
        // The log knows a newer epoch than the quorum state: trust the log.
        let behind = try TestNode(config: voteConfig(1), persistentState: persistedLog([1, 5], quorum: QuorumStateRecord(leaderEpoch: 4)))
        #expect(behind.role == .unattached && behind.epoch == 5)
    }

    @Test("a quorum state that contradicts the voters refuses to start")
    func inconsistentQuorumState() {
        #expect(throws: RaftStateError.self) {
            _ = try TestNode(config: voteConfig(1), persistentState: persistedLog([], quorum: QuorumStateRecord(leaderEpoch: 3, votedID: 7)))
        }
        #expect(throws: RaftStateError.self) {
            _ = try TestNode(config: voteConfig(9), persistentState: persistedLog([], quorum: QuorumStateRecord(leaderEpoch: 3, votedID: 1)))
        }
    }

    @Test("a crash between installing a snapshot and resetting the log is tidied on restart")
    func interruptedSnapshotInstall() throws {
        var disk = persistedLog([1, 1, 1], quorum: QuorumStateRecord(leaderEpoch: 2))
        disk.apply(.installSnapshot(RaftSnapshot(id: SnapshotID(offset: 10, epoch: 2), payload: [1])))
        var node = try TestNode(config: voteConfig(1), persistentState: disk)
        let first = run(&node) { $0.flush() }
        #expect(first.persist == [.resetLog(startOffset: 10)])
        #expect(first.effects.snapshotToLoad?.id == SnapshotID(offset: 10, epoch: 2))
        #expect(node.log.startOffset == 10 && node.logEndOffset == 10 && node.highWatermark == 10)

        var matching = persistedLog([1, 1, 2, 2])
        matching.apply(.installSnapshot(RaftSnapshot(id: SnapshotID(offset: 3, epoch: 2), payload: [1])))
        var kept = try TestNode(config: voteConfig(1), persistentState: matching)
        #expect(run(&kept) { $0.flush() }.persist == [.deleteLogPrefix(before: 3)])
        #expect(kept.log.startOffset == 3 && kept.logEndOffset == 4)
    }
}

import Testing
@testable import Raft

/// KIP-630: the owner snapshots a committed, applied prefix; the log below it may go; a follower
/// whose position fell below the leader's log start fetches the snapshot.
@Suite("Snapshots")
struct SnapshotTests {
    @Test("a lagging follower installs the leader's snapshot, then fetches the rest")
    func laggingFollowerInstallsSnapshot() throws {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let lagging = cluster.voters.first { $0 != leader }!
        cluster.isolate(lagging)
        for payload in 1...30 as ClosedRange<UInt64> {
            _ = cluster.propose(payload, at: leader)
            cluster.step()
        }
        let applied = cluster.node(leader).appliedOffset
        #expect(applied == cluster.node(leader).highWatermark)
        var node = cluster.node(leader)
        let snapshotID = try node.snapshot(upTo: applied, payload: [7, 7, 7])
        cluster.replace(leader, with: node)
        cluster.flush(leader)
        #expect(cluster.node(leader).log.startOffset == applied, "the covered prefix was dropped")
        for payload in 31...35 as ClosedRange<UInt64> {
            _ = cluster.propose(payload, at: leader)
            cluster.step()
        }

        cluster.heal()
        cluster.run(ticks: 30)
        #expect(cluster.loadedSnapshots[lagging] == [RaftSnapshot(id: snapshotID, payload: [7, 7, 7])])
        #expect(cluster.appliedPayloads(lagging) == Array(31...35), "after the snapshot, only later entries are applied")
        #expect(cluster.node(lagging).log.startOffset == snapshotID.offset)
        #expect(cluster.node(lagging).highWatermark == cluster.node(leader).highWatermark)
        #expect(cluster.persisted[lagging, default: []].contains(.resetLog(startOffset: snapshotID.offset)))
    }

    @Test("only applied offsets can be snapshotted, and only past the latest snapshot")
    func snapshotRules() throws {
        var cluster = TestCluster(voters: [1])
        _ = cluster.electLeader()
        _ = cluster.propose(1, at: 1)
        var node = cluster.node(1)
        let applied = node.appliedOffset
        #expect(throws: RaftSnapshotError.notApplied(offset: applied + 1, appliedOffset: applied)) {
            try node.snapshot(upTo: applied + 1, payload: [])
        }
        let id = try node.snapshot(upTo: applied, payload: [1])
        #expect(id == SnapshotID(offset: applied, epoch: node.epoch))
        #expect(throws: RaftSnapshotError.notAfterLatestSnapshot(offset: applied, latestSnapshotEndOffset: applied)) {
            try node.snapshot(upTo: applied, payload: [])
        }
    }

    @Test("a restart loads the snapshot first and delivers the committed entries after it again")
    func restartRedelivers() throws {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        for payload in 1...6 as ClosedRange<UInt64> { _ = cluster.propose(payload, at: leader) }
        cluster.run(ticks: 5)
        let follower = cluster.voters.first { $0 != leader }!
        var node = cluster.node(follower)
        let snapshotEnd = node.appliedOffset - 3
        _ = try node.snapshot(upTo: snapshotEnd, payload: [42])
        cluster.replace(follower, with: node)
        cluster.flush(follower)
        #expect(cluster.appliedPayloads(follower) == Array(1...6))

        cluster.crash(follower)
        cluster.restart(follower)
        cluster.run(ticks: 10)
        #expect(cluster.loadedSnapshots[follower]?.last?.payload == [42])
        #expect(cluster.appliedPayloads(follower) == [4, 5, 6], "entries after the snapshot are delivered again")
    }
}

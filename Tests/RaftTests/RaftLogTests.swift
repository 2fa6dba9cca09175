import Testing
@testable import Raft

@Suite("RaftLog")
struct RaftLogTests {
    @Test("end offset for an epoch: the largest epoch not above it (KRaft's endOffsetForEpoch)")
    func endOffsetForEpoch() {
        let log = persistedLog([1, 1, 3, 3, 3, 6]).log
        #expect(log.endOffset(forEpoch: 1) == OffsetAndEpoch(offset: 2, epoch: 1))
        #expect(log.endOffset(forEpoch: 2) == OffsetAndEpoch(offset: 2, epoch: 1))
        #expect(log.endOffset(forEpoch: 3) == OffsetAndEpoch(offset: 5, epoch: 3))
        #expect(log.endOffset(forEpoch: 5) == OffsetAndEpoch(offset: 5, epoch: 3))
        #expect(log.endOffset(forEpoch: 9) == OffsetAndEpoch(offset: 6, epoch: 6))
        #expect(log.endOffset(forEpoch: 0) == OffsetAndEpoch(offset: 0, epoch: 0))
    }

    @Test("fetch validation: valid prefix, divergence, or below the log start")
    func validateFetch() {
        var log = persistedLog([1, 1, 3, 3, 3, 6]).log
        #expect(log.validateFetch(fetchOffset: 0, lastFetchedEpoch: 0) == .valid)
        #expect(log.validateFetch(fetchOffset: 4, lastFetchedEpoch: 3) == .valid)
        #expect(log.validateFetch(fetchOffset: 6, lastFetchedEpoch: 6) == .valid)
        #expect(log.validateFetch(fetchOffset: 8, lastFetchedEpoch: 6) == .diverging(OffsetAndEpoch(offset: 6, epoch: 6)))
        #expect(log.validateFetch(fetchOffset: 4, lastFetchedEpoch: 2) == .diverging(OffsetAndEpoch(offset: 2, epoch: 1)))
        #expect(log.validateFetch(fetchOffset: 3, lastFetchedEpoch: 1) == .diverging(OffsetAndEpoch(offset: 2, epoch: 1)))

        log.apply(.installSnapshot(RaftSnapshot(id: SnapshotID(offset: 4, epoch: 3), payload: [])))
        log.apply(.deleteLogPrefix(before: 4))
        #expect(log.startOffset == 4 && log.endOffset == 6)
        #expect(log.validateFetch(fetchOffset: 2, lastFetchedEpoch: 1) == .snapshot(SnapshotID(offset: 4, epoch: 3)))
        #expect(log.validateFetch(fetchOffset: 4, lastFetchedEpoch: 2) == .snapshot(SnapshotID(offset: 4, epoch: 3)))
        #expect(log.validateFetch(fetchOffset: 5, lastFetchedEpoch: 1) == .snapshot(SnapshotID(offset: 4, epoch: 3)))
        #expect(log.validateFetch(fetchOffset: 4, lastFetchedEpoch: 3) == .valid)
        #expect(log.validateFetch(fetchOffset: 5, lastFetchedEpoch: 3) == .valid)
        #expect(log.endOffset(forEpoch: 3) == OffsetAndEpoch(offset: 5, epoch: 3), "the epoch cache survives compaction")
    }

    @Test("persist actions mean the same on disk and in memory")
    func persistActions() throws {
        var state = RaftPersistentState<UInt64>()
        state.apply(.setQuorumState(QuorumStateRecord(leaderEpoch: 2, leaderID: 1)))
        state.apply(.appendEntries((0..<5).map { LogEntry(offset: Offset(Int64($0)), epoch: 2, record: .data(UInt64($0))) }))
        state.apply(.truncateLog(from: 3))
        #expect(state.log.endOffsetAndEpoch == OffsetAndEpoch(offset: 3, epoch: 2))
        state.apply(.installSnapshot(RaftSnapshot(id: SnapshotID(offset: 2, epoch: 2), payload: [9])))
        state.apply(.deleteLogPrefix(before: 2))
        #expect(state.log.startOffset == 2 && state.log.entries.map(\.payload) == [2])
        state.apply(.installSnapshot(RaftSnapshot(id: SnapshotID(offset: 8, epoch: 4), payload: [8])))
        state.apply(.resetLog(startOffset: 8))
        #expect(state.log.startOffset == 8 && state.log.endOffset == 8 && state.log.lastEpoch == 4)
        #expect(state.quorumState == QuorumStateRecord(leaderEpoch: 2, leaderID: 1))

        let rebuilt = try RaftLog<UInt64>(snapshot: state.log.snapshot, startOffset: 8, entries: [])
        #expect(rebuilt.endOffsetAndEpoch == state.log.endOffsetAndEpoch)
        #expect(throws: RaftStateError.self) {
            _ = try RaftLog<UInt64>(snapshot: nil, startOffset: 0, entries: [LogEntry(offset: 1, epoch: 1, record: .data(1))])
        }
    }

    @Test("the seeded generator is deterministic and roughly uniform")
    func seededRandom() {
        var a = SeededRandom(seed: 42)
        var b = SeededRandom(seed: 42)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var counts = [Int](repeating: 0, count: 10)
        var random = SeededRandom(seed: 7)
        for _ in 0..<10_000 { counts[random.next(below: 10)] += 1 }
        #expect(counts.allSatisfy { (800...1200).contains($0) })
    }

    @Test("a simulation seed replays exactly")
    func simulationReplays() {
        guard case .success(let first) = Simulation.run(seed: 11), case .success(let second) = Simulation.run(seed: 11) else {
            Issue.record("seed 11 failed")
            return
        }
        #expect(first.ticks == second.ticks && first.messagesSent == second.messagesSent)
        #expect(first.committedEntries == second.committedEntries && first.crashes == second.crashes)
    }
}

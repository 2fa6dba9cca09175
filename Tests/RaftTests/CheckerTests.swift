import Testing
@testable import Raft

/// The simulation's invariant checks are only worth something if they can fail. These tests feed the
/// checker fabricated histories, and run the simulation with bugs planted in the nodes.
@Suite("Invariant checkers can fail")
struct CheckerTests {
    private func entry(_ offset: Int64, _ epoch: Int32, _ payload: UInt64) -> LogEntry<UInt64> {
        LogEntry(offset: Offset(offset), epoch: LeaderEpoch(epoch), record: .data(payload))
    }

    /// Prefix hashes of a log given as its entries from offset 0.
    private func prefixes(_ entries: [LogEntry<UInt64>]) -> [UInt64] {
        var hash: UInt64 = 0
        return entries.map { hash = extendPrefix(hash, with: $0); return hash }
    }

    @Test("two leaders in one epoch break election safety")
    func twoLeadersInOneEpoch() throws {
        var checker = InvariantChecker()
        #expect(try checker.observeLeader(1, epoch: 3))
        #expect(try !checker.observeLeader(1, epoch: 3))
        #expect(try checker.observeLeader(2, epoch: 4))
        let violation = #expect(throws: InvariantViolation.self) { _ = try checker.observeLeader(2, epoch: 3) }
        #expect(violation?.invariant == .electionSafety)
    }

    @Test("the same (offset, epoch) with a different entry or prefix breaks log matching")
    func logMatching() throws {
        var checker = InvariantChecker()
        let a = prefixes([entry(0, 1, 10), entry(1, 1, 11)])
        let b = prefixes([entry(0, 1, 99), entry(1, 1, 11)])  // same last entry, different prefix
        try checker.observeAppend(1, offset: 0, epoch: 1, prefix: a[0])
        try checker.observeAppend(1, offset: 1, epoch: 1, prefix: a[1])
        try checker.observeAppend(2, offset: 1, epoch: 1, prefix: a[1])
        let violation = #expect(throws: InvariantViolation.self) {
            try checker.observeAppend(3, offset: 1, epoch: 1, prefix: b[1])
        }
        #expect(violation?.invariant == .logMatching)
    }

    @Test("a leader missing a committed entry breaks leader completeness")
    func leaderCompleteness() throws {
        var checker = InvariantChecker()
        let committedLog = [entry(0, 1, 10), entry(1, 1, 11), entry(2, 2, 12)]
        let committed = prefixes(committedLog)
        _ = try checker.observeCommitted(1, epoch: 2, highWatermark: 3, prefixHash: { $0 == 0 ? 0 : committed[Int($0.rawValue) - 1] })
        // A leader of epoch 3 holding the same log passes; one that lost offset 2 fails.
        try checker.checkLeaderCompleteness(2, epoch: 3, prefixHash: { $0 == 0 ? 0 : committed[Int($0.rawValue) - 1] })
        let short = prefixes(Array(committedLog.prefix(2)))
        let violation = #expect(throws: InvariantViolation.self) {
            try checker.checkLeaderCompleteness(3, epoch: 3, prefixHash: { $0 == 0 ? 0 : ($0 <= 2 ? short[Int($0.rawValue) - 1] : nil) })
        }
        #expect(violation?.invariant == .leaderCompleteness)
        // Entries committed in the leader's own epoch (or later) are not required of it, even when
        // they were appended in an earlier epoch.
        try checker.checkLeaderCompleteness(3, epoch: 2, prefixHash: { _ in nil })
    }

    @Test("two different committed or applied histories break state-machine safety")
    func stateMachineSafety() throws {
        var checker = InvariantChecker()
        let first = [entry(0, 1, 10), entry(1, 1, 11)]
        let other = [entry(0, 1, 10), entry(1, 2, 77)]
        let firstPrefixes = prefixes(first)
        let otherPrefixes = prefixes(other)
        _ = try checker.observeCommitted(1, epoch: 1, highWatermark: 2, prefixHash: { $0 == 0 ? 0 : firstPrefixes[Int($0.rawValue) - 1] })
        try checker.checkApplied(2, offset: 1, stateHash: firstPrefixes[1])
        let committedViolation = #expect(throws: InvariantViolation.self) {
            _ = try checker.observeCommitted(3, epoch: 2, highWatermark: 2, prefixHash: { $0 == 0 ? 0 : otherPrefixes[Int($0.rawValue) - 1] })
        }
        #expect(committedViolation?.invariant == .stateMachineSafety)
        let appliedViolation = #expect(throws: InvariantViolation.self) {
            try checker.checkApplied(3, offset: 1, stateHash: otherPrefixes[1])
        }
        #expect(appliedViolation?.invariant == .stateMachineSafety)
        let uncommittedViolation = #expect(throws: InvariantViolation.self) {
            try checker.checkApplied(3, offset: 5, stateHash: 0)
        }
        #expect(uncommittedViolation?.invariant == .stateMachineSafety)
    }

    @Test("a high watermark going back breaks monotonicity")
    func highWatermarkMonotonic() throws {
        try InvariantChecker.checkHighWatermark(1, previous: nil, current: nil)
        try InvariantChecker.checkHighWatermark(1, previous: 4, current: 4)
        try InvariantChecker.checkHighWatermark(1, previous: 4, current: 9)
        let back = #expect(throws: InvariantViolation.self) { try InvariantChecker.checkHighWatermark(1, previous: 9, current: 4) }
        #expect(back?.invariant == .highWatermarkMonotonic)
        let lost = #expect(throws: InvariantViolation.self) { try InvariantChecker.checkHighWatermark(1, previous: 9, current: nil) }
        #expect(lost?.invariant == .highWatermarkMonotonic)
    }

    /// Runs seeds with `bug` planted in every node until the simulation reports a violation.
    private func firstFailure(plantedBug bug: PlantedBug, seeds: Range<UInt64>) -> SimulationFailure? {
        for seed in seeds {
            if case .failure(let failure) = Simulation.run(seed: seed, configure: { $0.plantedBug = bug }) {
                return failure
            }
        }
        return nil
    }

    @Test("the simulation catches voters that vote twice in one epoch")
    func plantedDoubleVote() {
        let failure = firstFailure(plantedBug: .voteTwicePerEpoch, seeds: 0..<400)
        #expect(failure != nil, "a double-voting quorum went unnoticed for 400 seeds")
        if let failure {
            #expect(failure.violation.invariant == .electionSafety, "\(failure)")
            // The report replays: the same seed fails the same way again.
            if case .failure(let again) = Simulation.run(seed: failure.seed, configure: { $0.plantedBug = .voteTwicePerEpoch }) {
                #expect(again.tick == failure.tick && again.violation.description == failure.violation.description)
            } else {
                Issue.record("seed \(failure.seed) did not fail again on replay")
            }
        }
    }

    @Test("the simulation catches elections that ignore the log up-to-date check")
    func plantedStaleLeader() {
        let failure = firstFailure(plantedBug: .ignoreLogUpToDateCheck, seeds: 0..<400)
        #expect(failure != nil, "stale leaders went unnoticed for 400 seeds")
        if let failure {
            let caught: Set<InvariantViolation.Invariant> = [.leaderCompleteness, .logMatching, .stateMachineSafety]
            #expect(caught.contains(failure.violation.invariant), "\(failure)")
        }
    }
}

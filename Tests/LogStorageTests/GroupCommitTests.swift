@testable import LogStorage
import SystemPackage
import Testing

/// The group commit's rules (``GroupCommitState``), step by step: no I/O, no clock.
struct GroupCommitTests {
    typealias Sync = GroupCommitState.Sync

    private func started(_ decision: GroupCommitState.WaitDecision) -> Sync? {
        if case .waiting(let start) = decision { return start }
        Issue.record("expected to wait, got \(decision)")
        return nil
    }

    @Test func oneSyncCoversEveryWaiterAppendedBeforeItStarted() throws {
        var state = GroupCommitState(durableOffset: 0)
        #expect(state.appended(through: 10) == nil, "nobody waits: no sync")
        let sync = try #require(started(state.wait(id: 1, offset: 3)))
        #expect(sync.target == 10)
        #expect(started(state.wait(id: 2, offset: 7)) == nil, "a sync is running: no second one")
        #expect(started(state.wait(id: 3, offset: 10)) == nil)
        let completion = state.syncSucceeded(sync)
        #expect(completion.completed == [1, 2, 3])
        #expect(completion.next == nil)
        #expect(state.flushedOffset == 10)
        if case .durable = state.wait(id: 4, offset: 10) {} else { Issue.record("offset 10 is durable") }
    }

    @Test func appendsDuringASyncShareTheNextOne() throws {
        var state = GroupCommitState(durableOffset: 0)
        _ = state.appended(through: 10)
        let first = try #require(started(state.wait(id: 1, offset: 10)))
        // Three producers append and wait while the first sync runs.
        for (id, end) in [(2, 15), (3, 20), (4, 25)] as [(UInt64, Int64)] {
            #expect(state.appended(through: end) == nil)
            #expect(started(state.wait(id: id, offset: end)) == nil)
        }
        let afterFirst = state.syncSucceeded(first)
        #expect(afterFirst.completed == [1])
        let second = try #require(afterFirst.next)
        #expect(second.target == 25, "the next sync covers every append that arrived meanwhile")
        let afterSecond = state.syncSucceeded(second)
        #expect(afterSecond.completed == [2, 3, 4])
        #expect(afterSecond.next == nil)
        #expect(state.flushedOffset == 25)
    }

    @Test func theFlushedOffsetOnlyMovesForwardAndWaitersCompleteInOffsetOrder() throws {
        var state = GroupCommitState(durableOffset: 100)
        var completedOrder: [UInt64] = []
        var flushed: [Int64] = [state.flushedOffset]
        var next: Sync?
        for round in 0..<5 {
            let end = 100 + Int64(round + 1) * 10
            _ = state.appended(through: end)
            if case .waiting(let start) = state.wait(id: UInt64(round), offset: end) { next = next ?? start }
            if round % 2 == 1, let sync = next {
                let completion = state.syncSucceeded(sync)
                completedOrder += completion.completed
                next = completion.next
                flushed.append(state.flushedOffset)
            }
        }
        while let sync = next {
            let completion = state.syncSucceeded(sync)
            completedOrder += completion.completed
            next = completion.next
            flushed.append(state.flushedOffset)
        }
        #expect(completedOrder == [0, 1, 2, 3, 4])
        #expect(flushed == flushed.sorted(), "the log flushed offset never goes back: \(flushed)")
        #expect(state.flushedOffset == 150)
        #expect(state.waiters.isEmpty)
    }

    @Test func aFailedSyncFailsEveryWaiterAndEveryLaterWait() throws {
        var state = GroupCommitState(durableOffset: 0)
        _ = state.appended(through: 5)
        let sync = try #require(started(state.wait(id: 1, offset: 5)))
        _ = state.appended(through: 9)
        _ = state.wait(id: 2, offset: 9)
        let eio = StorageError.io(operation: "fdatasync", path: "/x", errno: .ioError)
        #expect(state.syncFailed(sync, error: .syncFailed(eio)) == [1, 2])
        #expect(state.flushedOffset == 0)
        guard case .failed(.syncFailed) = state.wait(id: 3, offset: 1) else {
            Issue.record("a wait after a failed sync must fail")
            return
        }
        #expect(state.requestBackgroundSync() == nil, "no sync runs after a failure")
        #expect(state.appended(through: 12) == nil)
    }

    @Test func aTruncationFailsWaitersPastItAndIgnoresTheSyncThatPredatesIt() throws {
        var state = GroupCommitState(durableOffset: 0)
        _ = state.appended(through: 20)
        let old = try #require(started(state.wait(id: 1, offset: 8)))
        _ = state.wait(id: 2, offset: 20)
        #expect(state.truncated(to: 10) == [2], "offsets 10..<20 are gone")
        _ = state.appended(through: 14)
        let completion = state.syncSucceeded(old)
        #expect(state.flushedOffset == 0, "a sync from before the truncation proves nothing about what follows it")
        #expect(completion.completed.isEmpty)
        let again = try #require(completion.next)
        #expect(again.target == 14)
        #expect(state.syncSucceeded(again).completed == [1])
    }

    @Test func backgroundSyncsNeedUnsyncedBytesAndRunOneAtATime() throws {
        var state = GroupCommitState(durableOffset: 7)
        #expect(state.requestBackgroundSync() == nil, "nothing unsynced")
        _ = state.appended(through: 9)
        let requested = state.requestBackgroundSync()
        let sync = try #require(requested)
        _ = state.appended(through: 12)
        #expect(state.requestBackgroundSync() == nil, "one already runs; remembered for when it ends")
        let completion = state.syncSucceeded(sync)
        #expect(completion.next?.target == 12)
    }

    @Test func closingCompletesWhatTheFinalFlushCoveredAndFailsTheRest() throws {
        var state = GroupCommitState(durableOffset: 0)
        _ = state.appended(through: 10)
        _ = state.wait(id: 1, offset: 4)
        _ = state.wait(id: 2, offset: 10)
        #expect(state.noteDurable(through: 4) == [1])
        #expect(state.stop(.closed) == [2])
        guard case .failed(.closed) = state.wait(id: 3, offset: 11) else {
            Issue.record("a closed log refuses waits")
            return
        }
    }

    @Test func anAbandonedSyncIsRestartedByTheNextAppend() throws {
        var state = GroupCommitState(durableOffset: 0)
        _ = state.appended(through: 3)
        let sync = try #require(started(state.wait(id: 1, offset: 3)))
        state.syncAbandoned(sync)
        #expect(state.requestBackgroundSync() == nil)
        let resumed = state.appended(through: 5)
        let restarted = try #require(resumed)
        #expect(restarted.target == 5)
        #expect(state.syncSucceeded(restarted).completed == [1])
    }
}

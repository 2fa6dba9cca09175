import Foundation
@testable import LogStorage
import Synchronization
import SystemPackage
import Testing

/// A roll whose fsyncs are deferred (``Log/LoadOptions/defersRollSync``, as the broker's
/// partitions open their logs): nothing is synced on the owner's thread, the recovery point waits
/// for the sync, and ``LogFlusher`` syncs the rolled segment before anything above it.
struct DeferredRollSyncTests {
    /// A log that defers its roll syncs, on a disk that records what is synced, and a flusher
    /// whose syncs run when the test drains `runner`.
    private func withDeferredLog(policy: LogFlusher.Policy = .init(),
                                 _ body: (Log, SyncCountingDisk, ManualRunner, LogFlusher) async throws -> Void) async throws {
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncCountingDisk()
            var options = Log.LoadOptions()
            options.fileOperations = disk
            options.defersRollSync = true
            let log = try Log(directory: dir, config: LogConfig(), logger: quietLogger, options: options)
            defer { log.close() }
            let runner = ManualRunner()
            try await body(log, disk, runner, LogFlusher(durableOffset: 0, policy: policy, runner: runner.runner))
        }
    }

    private func append(_ count: Int, to log: Log, flusher: LogFlusher, seed: Int) throws {
        for i in 0..<count {
            try log.append(makeBatch(recordCount: 1, seed: seed + i), epoch: 0)
            flusher.rolled(log.takeRolledSegmentSyncs())
            flusher.appended(through: log.logEndOffset, handle: try log.activeSyncHandle())
        }
    }

    @Test func theRecoveryPointWaitsForTheRolledSegmentsSync() async throws {
        try await withDeferredLog { log, disk, runner, flusher in
            try append(3, to: log, flusher: flusher, seed: 0)
            try log.roll()
            #expect(disk.files.isEmpty, "the roll synced nothing on the owner's thread")
            #expect(log.recoveryPoint == 0)
            let rolls = log.takeRolledSegmentSyncs()
            #expect(rolls.map(\.nextBaseOffset) == [3])
            flusher.rolled(rolls)
            #expect(flusher.takeSyncedRolls().isEmpty)
            runner.drain()
            // The rolled segment's files, then the group commit's own sync (of the segment that was
            // active when it was asked for).
            #expect(Array(disk.files.prefix(3)) == ["00000000000000000000.log", "00000000000000000000.index", "00000000000000000000.timeindex"])
            for offset in flusher.takeSyncedRolls() { log.rolledSegmentSynced(through: offset) }
            #expect(log.recoveryPoint == 3)
            #expect(flusher.flushedOffset == 3)
        }
    }

    @Test func aWaiterAboveARolledSegmentIsAnsweredOnlyAfterItsSync() async throws {
        try await withDeferredLog(policy: .init(flushOnAck: true)) { log, disk, runner, flusher in
            try append(3, to: log, flusher: flusher, seed: 0)
            try log.roll()
            try append(2, to: log, flusher: flusher, seed: 10)
            async let waited: Void = flusher.waitUntilFlushed(through: 5)
            while flusher.waitingCount == 0 { await Task.yield() }
            runner.drain()
            try await waited
            let files = disk.files
            // The rolled segment's three files first, then the active segment's log.
            #expect(files.prefix(3).allSatisfy { $0.hasPrefix("00000000000000000000.") })
            #expect(files.last == "00000000000000000003.log")
            #expect(flusher.flushedOffset == 5)
        }
    }

    @Test func aRollWithEverythingDurableAlreadyIsSyncedOnItsOwn() async throws {
        try await withDeferredLog(policy: .init(flushOnAck: true)) { log, disk, runner, flusher in
            try append(3, to: log, flusher: flusher, seed: 0)
            async let waited: Void = flusher.waitUntilFlushed(through: 3)
            while flusher.waitingCount == 0 { await Task.yield() }
            runner.drain()
            try await waited
            #expect(flusher.flushedOffset == 3)
            try log.roll()
            flusher.rolled(log.takeRolledSegmentSyncs())
            #expect(runner.pending == 1, "no group commit sync is due, so the roll's sync runs alone")
            runner.drain()
            #expect(flusher.takeSyncedRolls() == [3])
        }
    }

    @Test func rollsSyncedAcrossATruncationDoNotMoveTheRecoveryPoint() async throws {
        try await withDeferredLog { log, disk, runner, flusher in
            try append(3, to: log, flusher: flusher, seed: 0)
            try log.roll()
            flusher.rolled(log.takeRolledSegmentSyncs())
            try log.truncate(to: 1)
            flusher.truncated(to: log.logEndOffset, handle: try log.activeSyncHandle())
            runner.drain()
            #expect(flusher.takeSyncedRolls().isEmpty, "the rolled segment described a log the truncation cut")
            #expect(log.recoveryPoint <= 1)
        }
    }

    @Test func closingSyncsPendingRollsOnTheCallersThread() async throws {
        try await withDeferredLog { log, disk, runner, flusher in
            try append(3, to: log, flusher: flusher, seed: 0)
            // A sync is running (queued, not run): the roll waits for the next one.
            flusher.requestSync()
            try log.roll()
            flusher.rolled(log.takeRolledSegmentSyncs())
            try flusher.syncPendingRolls()
            #expect(disk.files.count == 3)
            #expect(flusher.takeSyncedRolls() == [3])
        }
    }
}

import Foundation
@testable import LogStorage
import Synchronization
import SystemPackage
import Testing

/// A disk that records the files it is asked to `fdatasync`, in order.
final class SyncRecordingDisk: FileOperations {
    let real = RealFileOperations()
    let synced = Mutex<[String]>([])

    func open(_ path: FilePath, create: Bool) throws -> SystemPackage.FileDescriptor { try real.open(path, create: create) }
    func size(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws -> Int64 { try real.size(descriptor, path: path) }
    func pwrite(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try real.pwrite(descriptor, path: path, bytes, at: offset)
    }
    func pread(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try real.pread(descriptor, path: path, into: buffer, at: offset)
    }
    func ftruncate(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, to size: Int64) throws {
        try real.ftruncate(descriptor, path: path, to: size)
    }
    func fsync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws { try real.fsync(descriptor, path: path) }
    func fdatasync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws {
        synced.withLock { $0.append(path.lastComponent?.string ?? path.string) }
        try real.fdatasync(descriptor, path: path)
    }
    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) { real.close(descriptor, path: path) }

    var files: [String] { synced.withLock { $0 } }
}

/// A roll whose fsyncs are deferred (``Log/LoadOptions/defersRollSync``, as the broker's
/// partitions open their logs): nothing is synced on the owner's thread, the recovery point waits
/// for the sync, and ``LogFlusher`` syncs the rolled segment before anything above it.
struct DeferredRollSyncTests {
    private func makeLog(_ dir: FilePath, disk: SyncRecordingDisk) throws -> Log {
        var options = Log.LoadOptions()
        options.fileOperations = disk
        options.defersRollSync = true
        return try Log(directory: dir, config: LogConfig(), logger: quietLogger, options: options)
    }

    private func append(_ count: Int, to log: Log, flusher: LogFlusher, seed: Int) throws {
        for i in 0..<count {
            try log.append(makeBatch(recordCount: 1, seed: seed + i), epoch: 0)
            flusher.rolled(log.takeRolledSegmentSyncs())
            flusher.appended(through: log.logEndOffset, handle: try log.activeSyncHandle())
        }
    }

    @Test func theRecoveryPointWaitsForTheRolledSegmentsSync() throws {
        try withTemporaryDirectory { dir in
            let disk = SyncRecordingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(), runner: runner.runner)
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
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncRecordingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushOnAck: true), runner: runner.runner)
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
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncRecordingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushOnAck: true), runner: runner.runner)
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

    @Test func rollsSyncedAcrossATruncationDoNotMoveTheRecoveryPoint() throws {
        try withTemporaryDirectory { dir in
            let disk = SyncRecordingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(), runner: runner.runner)
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

    @Test func closingSyncsPendingRollsOnTheCallersThread() throws {
        try withTemporaryDirectory { dir in
            let disk = SyncRecordingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(), runner: runner.runner)
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

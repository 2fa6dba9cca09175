import Foundation
@testable import LogStorage
import Logging
import Synchronization
import SystemPackage
import Testing

/// A disk that counts `fdatasync` calls, records the files synced in order, and fails them with
/// EIO on demand.
final class SyncCountingDisk: FileOperations {
    let real = RealFileOperations()
    let syncs = Mutex(0)
    let failSyncs = Mutex(false)
    /// The names of the files `fdatasync` was asked for, in order.
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
        syncs.withLock { $0 += 1 }
        synced.withLock { $0.append(path.lastComponent?.string ?? path.string) }
        if failSyncs.withLock({ $0 }) { throw Errno.ioError }
        try real.fdatasync(descriptor, path: path)
    }
    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) { real.close(descriptor, path: path) }

    var files: [String] { synced.withLock { $0 } }
}

/// A ``LogFlusher/Runner`` whose jobs run only when the test says so: which sync covers which
/// waiter is decided by the order of events, not by timing.
final class ManualRunner: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])

    var runner: LogFlusher.Runner { { job in self.jobs.withLock { $0.append(job) } } }
    var pending: Int { jobs.withLock { $0.count } }

    /// Runs the queued jobs (and the ones they queue) until none is left. - Returns: jobs run.
    @discardableResult
    func drain() -> Int {
        var ran = 0
        while let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            job()
            ran += 1
        }
        return ran
    }
}

/// ``LogFlusher`` on a real log: concurrent waiters share syncs, a failed sync fails them and
/// takes the directory offline.
struct LogFlusherTests {
    private func makeLog(_ dir: FilePath, disk: SyncCountingDisk, health: LogDirectoryHealth? = nil) throws -> Log {
        var options = Log.LoadOptions()
        options.fileOperations = disk
        options.directoryHealth = health
        return try Log(directory: dir, config: LogConfig(), logger: quietLogger, options: options)
    }

    /// Appends `count` batches of one record, reporting each to `flusher`.
    private func append(_ count: Int, to log: Log, flusher: LogFlusher, seed: Int) throws {
        for i in 0..<count {
            try log.append(makeBatch(recordCount: 1, seed: seed + i), epoch: 0)
            flusher.appended(through: log.logEndOffset, handle: try log.activeSyncHandle())
        }
    }

    /// Yields until `flusher` has `count` waiters registered (no clock involved).
    private func waitForWaiters(_ runner: ManualRunner, _ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    @Test func startingWritebackOfTheActiveSegmentIsAccepted() throws {
        try withTemporaryDirectory { dir in
            let log = try makeLog(dir, disk: SyncCountingDisk())
            defer { log.close() }
            try log.append(makeBatch(recordCount: 100, seed: 1), epoch: 0)
            #expect(try log.activeSyncHandle().startWriteback())
        }
    }

    @Test func concurrentWaitersShareOneSync() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncCountingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: log.logEndOffset, policy: .init(flushOnAck: true), runner: runner.runner)
            try append(20, to: log, flusher: flusher, seed: 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for offset in 1...20 {
                    group.addTask { try await flusher.waitUntilFlushed(through: Int64(offset)) }
                }
                await waitForWaiters(runner) { flusher.waitingCount == 20 }
                #expect(runner.pending == 1, "the first waiter started the one sync; the others joined it")
                #expect(runner.drain() == 1)
                try await group.waitForAll()
            }
            #expect(disk.syncs.withLock { $0 } == 1, "20 waiters, one fdatasync")
            #expect(flusher.flushedOffset == 20)
        }
    }

    @Test func appendsDuringASyncAreCoveredByTheNextOne() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncCountingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushOnAck: true), runner: runner.runner)
            try append(1, to: log, flusher: flusher, seed: 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await flusher.waitUntilFlushed(through: 1) }
                await waitForWaiters(runner) { runner.pending == 1 }
                // While the first sync is queued (running, as far as the group commit knows),
                // ten more batches arrive, each with a waiter.
                try append(10, to: log, flusher: flusher, seed: 100)
                for offset in 2...11 {
                    group.addTask { try await flusher.waitUntilFlushed(through: Int64(offset)) }
                }
                await waitForWaiters(runner) { flusher.waitingCount == 11 }
                #expect(runner.drain() == 2, "the first sync, then one for all ten")
                try await group.waitForAll()
            }
            #expect(disk.syncs.withLock { $0 } == 2)
            #expect(flusher.flushedOffset == 11)
        }
    }

    @Test func aFailedSyncFailsTheWaitersWithAStorageErrorAndTakesTheDirectoryOffline() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncCountingDisk()
            let health = LogDirectoryHealth(directory: dir, minFreeBytes: 0, logger: quietLogger)
            let log = try makeLog(dir, disk: disk, health: health)
            defer { log.close() }
            let runner = ManualRunner()
            let reports = Mutex<[LogFlusher.SyncReport]>([])
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushOnAck: true), runner: runner.runner,
                                     directoryHealth: health, onSync: { report in reports.withLock { $0.append(report) } })
            try append(3, to: log, flusher: flusher, seed: 0)
            disk.failSyncs.withLock { $0 = true }
            let outcomes = await withTaskGroup(of: LogFlushError?.self) { group in
                for offset in 1...3 {
                    group.addTask {
                        do throws(LogFlushError) {
                            try await flusher.waitUntilFlushed(through: Int64(offset))
                            return nil
                        } catch { return error }
                    }
                }
                await waitForWaiters(runner) { flusher.waitingCount == 3 }
                runner.drain()
                return await group.reduce(into: [LogFlushError?]()) { $0.append($1) }
            }
            #expect(outcomes.count == 3)
            for outcome in outcomes {
                guard case .syncFailed(let storage)? = outcome else {
                    Issue.record("expected syncFailed, got \(String(describing: outcome))")
                    continue
                }
                #expect(storage.errorCode == .kafkaStorageError)
                #expect(outcome?.errorCode == .kafkaStorageError)
            }
            #expect(health.isOffline, "a failed fdatasync takes the log dir offline")
            #expect(reports.withLock { $0.map(\.failed) } == [true])
            // Later waits fail at once, with no sync attempted.
            await #expect(throws: LogFlushError.self) { try await flusher.waitUntilFlushed(through: 1) }
            #expect(runner.pending == 0)
            #expect(flusher.flushedOffset == 0)
        }
    }

    @Test func flushMessagesStartsABackgroundSyncThatNobodyWaitsFor() throws {
        try withTemporaryDirectory { dir in
            let disk = SyncCountingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushIntervalMessages: 5), runner: runner.runner)
            try append(4, to: log, flusher: flusher, seed: 0)
            #expect(runner.pending == 0, "4 unsynced offsets, flush.messages=5")
            try append(1, to: log, flusher: flusher, seed: 10)
            #expect(runner.drain() == 1)
            #expect(flusher.flushedOffset == 5)
            #expect(disk.syncs.withLock { $0 } == 1)
        }
    }

    @Test func flushMsSyncsOnlyWhenTheIntervalPassedAndSomethingIsUnsynced() throws {
        try withTemporaryDirectory { dir in
            let disk = SyncCountingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let now = Mutex<Int64>(1_000)
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushIntervalMs: 100), runner: runner.runner,
                                     clockMs: { now.withLock { $0 } })
            flusher.flushIfDue(nowMs: 2_000)
            #expect(runner.pending == 0, "nothing appended")
            try append(2, to: log, flusher: flusher, seed: 0)
            flusher.flushIfDue(nowMs: 1_050)
            #expect(runner.pending == 0, "only 50 ms since the last sync")
            flusher.flushIfDue(nowMs: 1_100)
            #expect(runner.drain() == 1)
            #expect(flusher.flushedOffset == 2)
        }
    }

    @Test func aRollSyncsTheOldSegmentSoTheNextSyncCoversBoth() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let disk = SyncCountingDisk()
            let log = try makeLog(dir, disk: disk)
            defer { log.close() }
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushOnAck: true), runner: runner.runner)
            try append(3, to: log, flusher: flusher, seed: 0)
            try log.roll()
            try append(2, to: log, flusher: flusher, seed: 10)
            #expect(log.segmentCount == 2)
            async let waited: Void = flusher.waitUntilFlushed(through: 5)
            await waitForWaiters(runner) { runner.pending == 1 }
            runner.drain()
            try await waited
            #expect(disk.syncs.withLock { $0 } == 1, "one fdatasync of the new active segment")
        }
    }
}

/// `withTemporaryDirectory` for async bodies.
func withTemporaryDirectoryAsync(_ body: (FilePath) async throws -> Void) async throws {
    let path = FilePath(NSTemporaryDirectory()).appending("runnel-flush-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path.string, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path.string) }
    try await body(path)
}

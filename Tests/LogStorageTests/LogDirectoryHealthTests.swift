import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import Synchronization
import SystemPackage
import Testing

/// A volume whose available bytes the test sets.
final class FakeVolume: Sendable {
    let available = Mutex<Int64>(1 << 40)
    func set(_ bytes: Int64) { available.withLock { $0 = bytes } }
    var freeBytes: @Sendable (FilePath) -> Int64? { { _ in self.available.withLock { $0 } } }
}

/// A failing device: while `failing` is set, every write and read of a `.log` file fails with EIO.
final class FailingDevice: FileOperations {
    let real = RealFileOperations()
    let failWrites = Mutex(false)
    let failReads = Mutex(false)

    func open(_ path: FilePath, create: Bool) throws -> SystemPackage.FileDescriptor { try real.open(path, create: create) }
    func size(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws -> Int64 { try real.size(descriptor, path: path) }
    func pwrite(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        if failWrites.withLock({ $0 }), path.string.hasSuffix(".log") { throw Errno.ioError }
        try real.pwrite(descriptor, path: path, bytes, at: offset)
    }
    func pread(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        if failReads.withLock({ $0 }), path.string.hasSuffix(".log") { throw Errno.ioError }
        return try real.pread(descriptor, path: path, into: buffer, at: offset)
    }
    func ftruncate(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, to size: Int64) throws {
        try real.ftruncate(descriptor, path: path, to: size)
    }
    func fsync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws { try real.fsync(descriptor, path: path) }
    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) { real.close(descriptor, path: path) }
}

private func isDirectoryFull(_ error: any Error) -> Bool {
    guard let storage = error as? StorageError, case .logDirectoryFull = storage else { return false }
    return storage.errorCode == .kafkaStorageError && storage.errorCode.isRetriable
}

private func isDirectoryOffline(_ error: any Error) -> Bool {
    guard let storage = error as? StorageError, case .logDirectoryOffline = storage else { return false }
    return storage.errorCode == .kafkaStorageError
}

struct LogDirectoryHealthTests {
    /// Below `runnel.log.dir.min.free.bytes` an append is refused before a byte is written, reads
    /// go on, and appends resume by themselves once space returns (past the hysteresis margin).
    @Test func lowSpaceRefusesAppendsBeforeWritingAndResumes() throws {
        try withTemporaryDirectory { dir throws in
            let volume = FakeVolume()
            let health = LogDirectoryHealth(directory: dir, minFreeBytes: 1_000_000, logger: quietLogger,
                                            recheckInterval: .zero, freeBytes: volume.freeBytes)
            var options = Log.LoadOptions()
            options.directoryHealth = health
            let log = try Log(directory: dir, config: LogConfig(), logger: quietLogger, options: options)
            defer { log.close() }
            #expect(try log.append(makeBatch(recordCount: 3, seed: 1), epoch: 0) == 0)
            let segment = dir.appending(segmentFileName(0))
            let sizeBefore = try fileSize(segment)

            volume.set(999_999)
            #expect { try log.append(makeBatch(recordCount: 2, seed: 2), epoch: 0) } throws: { isDirectoryFull($0) }
            #expect(health.state == .lowSpace(freeBytes: 999_999))
            #expect(try fileSize(segment) == sizeBefore, "nothing was written")
            #expect(log.logEndOffset == 3)
            #expect(try log.readAllBatches().count == 1, "fetches keep working")

            // Back over the minimum but inside the 10 % margin: still refused.
            volume.set(1_050_000)
            #expect { try log.append(makeBatch(recordCount: 2, seed: 3), epoch: 0) } throws: { isDirectoryFull($0) }
            volume.set(50_000_000)
            #expect(try log.append(makeBatch(recordCount: 2, seed: 4), epoch: 0) == 3)
            #expect(health.state == .online)
        }
    }

    /// A batch that would take the free space under the minimum is refused even while the last
    /// reading was above it; the periodic refresh alone also changes state.
    @Test func batchCrossingTheMinimumIsRefusedAndRefreshMovesState() throws {
        let volume = FakeVolume()
        let health = LogDirectoryHealth(directory: FilePath("/nonexistent"), minFreeBytes: 1000, logger: quietLogger,
                                        recheckInterval: .seconds(3600), freeBytes: volume.freeBytes)
        volume.set(1500)
        try health.checkAppend(bytes: 400)
        #expect(health.state == .online)
        // Something else filled the volume. The estimate (1500 - 400 - 200 = 900) crosses the
        // minimum, so a fresh reading decides, long before the hour is up: 1100 - 200 < 1000.
        volume.set(1100)
        #expect { try health.checkAppend(bytes: 200) } throws: { isDirectoryFull($0) }
        #expect(health.state == .lowSpace(freeBytes: 1100))
        // Low space holds until a reading shows the margin again.
        volume.set(1500)
        #expect { try health.checkAppend(bytes: 100) } throws: { isDirectoryFull($0) }
        volume.set(5000)
        health.refresh()
        #expect(health.state == .online)
        try health.checkAppend(bytes: 200)
        volume.set(10)
        health.refresh()
        #expect(health.state == .lowSpace(freeBytes: 10))
        health.setMinFreeBytes(0)
        #expect(health.state == .online, "a minimum of 0 turns the check off")
        try health.checkAppend(bytes: 1 << 30)
    }

    /// EIO on a write takes the log's directory offline: that append and every later read or append
    /// there answer KAFKA_STORAGE_ERROR, while a log in another directory keeps serving.
    @Test func ioErrorOnWriteTakesOnlyThatDirectoryOffline() throws {
        try withTemporaryDirectory { root throws in
            let device = FailingDevice()
            let sick = LogDirectoryHealth(directory: root.appending("a"), minFreeBytes: 0, logger: quietLogger)
            let healthy = LogDirectoryHealth(directory: root.appending("b"), minFreeBytes: 0, logger: quietLogger)
            var sickOptions = Log.LoadOptions()
            sickOptions.fileOperations = device
            sickOptions.directoryHealth = sick
            var healthyOptions = Log.LoadOptions()
            healthyOptions.directoryHealth = healthy
            let logA = try Log(directory: root.appending("a/t-0"), config: LogConfig(), logger: quietLogger, options: sickOptions)
            let logB = try Log(directory: root.appending("b/t-0"), config: LogConfig(), logger: quietLogger, options: healthyOptions)
            defer { logA.close(); logB.close() }
            try logA.append(makeBatch(recordCount: 2, seed: 1), epoch: 0)
            try logB.append(makeBatch(recordCount: 2, seed: 1), epoch: 0)

            device.failWrites.withLock { $0 = true }
            #expect {
                try logA.append(makeBatch(recordCount: 2, seed: 2), epoch: 0)
            } throws: { error in
                guard let storage = error as? StorageError, case .io(_, _, let errno) = storage else { return false }
                return errno == .ioError && storage.errorCode == .kafkaStorageError
            }
            #expect(sick.isOffline)
            device.failWrites.withLock { $0 = false }
            // Offline until restart, even though the device answers again.
            #expect { try logA.append(makeBatch(recordCount: 2, seed: 3), epoch: 0) } throws: { isDirectoryOffline($0) }
            #expect { try logA.read(from: 0, maxBytes: 1 << 20, upperBound: 2) } throws: { isDirectoryOffline($0) }
            #expect { try logA.offsetForTimestamp(0, upperBound: 2) } throws: { isDirectoryOffline($0) }

            #expect(!healthy.isOffline)
            #expect(try logB.append(makeBatch(recordCount: 2, seed: 4), epoch: 0) == 2)
            #expect(try logB.readAllBatches().count == 2)
        }
    }

    /// EIO on a read takes the directory offline too; ENOSPC on a write never does.
    @Test func ioErrorOnReadGoesOfflineButNoSpaceDoesNot() throws {
        try withTemporaryDirectory { dir throws in
            let device = FailingDevice()
            let health = LogDirectoryHealth(directory: dir, minFreeBytes: 0, logger: quietLogger)
            var options = Log.LoadOptions()
            options.fileOperations = device
            options.directoryHealth = health
            let log = try Log(directory: dir, config: LogConfig(), logger: quietLogger, options: options)
            defer { log.close() }
            try log.append(makeBatch(recordCount: 2, seed: 1), epoch: 0)
            health.recordFailure(StorageError.io(operation: "write", path: "x.log", errno: .noSpace))
            health.recordFailure(StorageError.io(operation: "open", path: "x.log", errno: .tooManyOpenFiles))
            #expect(!health.isOffline, "ENOSPC and EMFILE are not device faults")
            device.failReads.withLock { $0 = true }
            #expect { try log.read(from: 0, maxBytes: 1 << 20, upperBound: 2) } throws: { _ in true }
            #expect(health.isOffline)
        }
    }
}

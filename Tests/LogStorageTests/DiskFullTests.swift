import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import Synchronization
import SystemPackage
import Testing

/// A disk that fills up: while `full` is set, a write of the `.log` file lands only its first half
/// and then fails with ENOSPC, as a real write(2) that runs out of space part-way does.
final class FillingDisk: FileOperations {
    let real = RealFileOperations()
    let full = Mutex(false)

    func open(_ path: FilePath, create: Bool) throws -> SystemPackage.FileDescriptor { try real.open(path, create: create) }
    func size(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws -> Int64 { try real.size(descriptor, path: path) }
    func pwrite(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard full.withLock({ $0 }), path.string.hasSuffix(".log") else {
            return try real.pwrite(descriptor, path: path, bytes, at: offset)
        }
        try real.pwrite(descriptor, path: path, UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count / 2)]), at: offset)
        throw Errno.noSpace
    }
    func pread(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try real.pread(descriptor, path: path, into: buffer, at: offset)
    }
    func ftruncate(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, to size: Int64) throws {
        try real.ftruncate(descriptor, path: path, to: size)
    }
    func fsync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws { try real.fsync(descriptor, path: path) }
    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) { real.close(descriptor, path: path) }
}

/// A full disk fails the append that hit it with KAFKA_STORAGE_ERROR, loses nothing appended
/// before, serves no partial batch, and appends continue at the same offset once space is back.
struct DiskFullTests {
    @Test func failedAppendLosesNothingAndLeavesNoPartialBatch() throws {
        try withTemporaryDirectory { dir throws in
            let disk = FillingDisk()
            var options = Log.LoadOptions()
            options.fileOperations = disk
            let log = try Log(directory: dir, config: LogConfig(), logger: quietLogger, options: options)
            let first = makeBatch(recordCount: 4, seed: 1)
            #expect(try log.append(first, epoch: 0) == 0)

            disk.full.withLock { $0 = true }
            let refused = makeBatch(recordCount: 3, seed: 2)
            #expect {
                try log.append(refused, epoch: 0)
            } throws: { error in
                (error as? StorageError)?.errorCode == .kafkaStorageError
            }
            #expect(log.logEndOffset == 4, "the failed batch got no offsets")
            let served = try log.read(from: 0, maxBytes: 1 << 20, upperBound: .max)
            #expect(splitBatches(served)?.count == 1, "the half-written batch is never served")
            let segmentFile = dir.appending("00000000000000000000.log").string
            let size = try FileManager.default.attributesOfItem(atPath: segmentFile)[.size] as? Int
            #expect(size == first.readableBytes, "the torn bytes were cut off")

            disk.full.withLock { $0 = false }
            let next = makeBatch(recordCount: 2, seed: 3)
            #expect(try log.append(next, epoch: 0) == 4, "appends resume at the same offset, over the torn bytes")
            log.close()

            // After a crash (no clean shutdown), recovery finds exactly the two acknowledged batches.
            let reopened = try Log(directory: dir, config: LogConfig(), logger: quietLogger)
            defer { reopened.close() }
            #expect(reopened.logEndOffset == 6)
            let batches = try #require(splitBatches(try reopened.read(from: 0, maxBytes: 1 << 20, upperBound: .max)))
            #expect(batches.map { batchHeader($0).baseOffset } == [0, 4])
            #expect(batches.allSatisfy { RecordBatchHeader.crcMatches($0, at: $0.readerIndex, header: batchHeader($0)) })
        }
    }
}

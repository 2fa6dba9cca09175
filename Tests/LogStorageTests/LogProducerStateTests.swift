import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import SystemPackage
import Testing

/// The log keeps idempotent producers' state across closes, rolls and crashes (KIP-98): an exact
/// retry of a batch appended before a restart is still recognised.
struct LogProducerStateTests {
    func snapshotFileNames(_ dir: FilePath) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.string).filter { $0.hasSuffix(".snapshot") }.sorted()
    }

    /// An idempotent batch of `count` records from `producer` starting at `sequence`.
    func idempotentBatch(producer: Int64 = 42, epoch: Int16 = 0, sequence: Int32, count: Int = 3, seed: Int = 0) -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        builder.producerID = producer
        builder.producerEpoch = epoch
        builder.baseSequence = sequence
        for i in 0..<count { builder.append(key: nil, value: ByteBuffer(string: "v\(seed)-\(i)")) }
        return builder.build()
    }

    @Test func appendsUpdateTheStateAndDuplicatesAreFound() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            try log.append(idempotentBatch(sequence: 0), epoch: 0)
            try log.append(idempotentBatch(sequence: 3), epoch: 0)
            #expect(try log.checkProducer(batchHeader(idempotentBatch(sequence: 3)))?.firstOffset == 3)
            #expect(try log.checkProducer(batchHeader(idempotentBatch(sequence: 6))) == nil)
            #expect(throws: ProducerStateError.self) { try log.checkProducer(batchHeader(idempotentBatch(sequence: 9))) }
            log.close()
        }
    }

    @Test func aCleanCloseKeepsTheStateInASnapshot() throws {
        try withTemporaryDirectory { dir in
            var log = try openLog(dir)
            try log.append(idempotentBatch(sequence: 0), epoch: 0)
            try log.append(idempotentBatch(sequence: 3), epoch: 0)
            log.close()
            #expect(try snapshotFileNames(dir).contains(ProducerStateSnapshot.fileName(offset: 6)))
            log = try openLog(dir)
            #expect(log.producerState.entry(for: 42)?.lastSequence == 5)
            #expect(try log.checkProducer(batchHeader(idempotentBatch(sequence: 0)))?.firstOffset == 0)
            #expect(try log.checkProducer(batchHeader(idempotentBatch(sequence: 3)))?.firstOffset == 3)
            log.close()
        }
    }

    @Test func aCrashRebuildsTheStateFromTheLogTail() throws {
        try withTemporaryDirectory { dir in
            // Small segments: rolls write snapshots; the batches after the last one are replayed.
            let log = try openLog(dir, segmentBytes: 400)
            for n in 0..<6 { try log.append(idempotentBatch(sequence: Int32(n * 3), seed: n), epoch: 0) }
            try log.flush()
            #expect(log.segmentCount > 1)
            let snapshots = try snapshotFileNames(dir)
            #expect(!snapshots.isEmpty)
            // No close: the state after the newest snapshot exists only in the log.
            let reopened = try openLog(dir, segmentBytes: 400)
            #expect(reopened.producerState.entry(for: 42)?.lastSequence == 17)
            #expect(reopened.producerState.entry(for: 42)?.batches.count == 5)
            #expect(try reopened.checkProducer(batchHeader(idempotentBatch(sequence: 15, seed: 5)))?.firstOffset == 15)
            #expect(try reopened.checkProducer(batchHeader(idempotentBatch(sequence: 18))) == nil)
            reopened.close()
        }
    }

    @Test func withoutAnySnapshotTheWholeLogIsReplayed() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            try log.append(makeBatch(recordCount: 2, seed: 1), epoch: 0)  // not idempotent
            try log.append(idempotentBatch(producer: 7, sequence: 0), epoch: 0)
            try log.flush()
            let reopened = try openLog(dir)
            #expect(reopened.producerState.count == 1)
            #expect(try reopened.checkProducer(batchHeader(idempotentBatch(producer: 7, sequence: 0)))?.firstOffset == 2)
            reopened.close()
        }
    }

    @Test func anUnreadableOrTooNewSnapshotIsIgnored() throws {
        try withTemporaryDirectory { dir in
            var log = try openLog(dir)
            try log.append(idempotentBatch(sequence: 0), epoch: 0)
            log.close()
            // A snapshot past the log end (from batches a crash lost) and a corrupt newest one.
            let past = dir.appending(ProducerStateSnapshot.fileName(offset: 99)).string
            #expect(FileManager.default.createFile(atPath: past, contents: Data([0, 101, 1, 2, 3])))
            let current = dir.appending(ProducerStateSnapshot.fileName(offset: 3)).string
            var bytes = try Data(contentsOf: URL(fileURLWithPath: current))
            bytes[bytes.count - 1] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: current))
            log = try openLog(dir)
            #expect(!FileManager.default.fileExists(atPath: past))
            #expect(try log.checkProducer(batchHeader(idempotentBatch(sequence: 0)))?.firstOffset == 0, "rebuilt from the log")
            log.close()
        }
    }
}

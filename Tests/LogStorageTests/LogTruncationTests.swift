import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import SystemPackage
import Testing

/// Follower truncation (KIP-101/KIP-279): `Log.truncate(to:)` cuts whole batches from the end,
/// across segments, and leaves indexes, the leader epoch history, producer state and reopening
/// consistent.
struct LogTruncationTests {
    /// 20 batches of 3 records each (offsets 0..59) over small segments, epochs 1 (batches 0-9),
    /// 2 (10-14) and 3 (15-19).
    func filledLog(_ dir: FilePath) throws -> (Log, [ByteBuffer]) {
        let log = try openLog(dir, segmentBytes: 512, indexIntervalBytes: 128)
        var batches: [ByteBuffer] = []
        for i in 0..<20 {
            let epoch: Int32 = i < 10 ? 1 : i < 15 ? 2 : 3
            if i == 0 || i == 10 || i == 15 { try log.assignLeaderEpoch(epoch) }
            let batch = makeBatch(recordCount: 3, seed: i)
            try log.append(batch, epoch: epoch)
            batches.append(batch)
        }
        #expect(log.segmentCount > 3)
        return (log, batches)
    }

    @Test func truncationCutsWholeBatchesAtEveryOffset() throws {
        // Each batch boundary, each position inside a batch, and the segment edges near both ends.
        for target in [1, 2, 3, 4, 5, 17, 29, 30, 31, 44, 57, 58, 59] {
            try withTemporaryDirectory { dir in
                let (log, _) = try filledLog(dir)
                let before = try log.readAllBatches()
                let end = try log.truncate(to: Int64(target))
                // The batch holding `target` goes: the end is that batch's base offset.
                #expect(end == Int64(target / 3 * 3))
                let after = try log.readAllBatches()
                #expect(after.count == target / 3)
                #expect(after.map { Array($0.readableBytesView) } == before.prefix(target / 3).map { Array($0.readableBytesView) })
                // Appends continue at the new end, and the log reopens to the same state.
                try log.append(makeBatch(recordCount: 2, seed: 99), epoch: 4)
                #expect(log.logEndOffset == end + 2)
                log.close()
                let reopened = try openLog(dir, segmentBytes: 512, indexIntervalBytes: 128)
                #expect(reopened.logEndOffset == end + 2)
                #expect(try reopened.readAllBatches().count == target / 3 + 1)
                // Every remaining offset is still found through the rebuilt indexes.
                for offset in stride(from: Int64(0), to: end, by: 1) {
                    let bytes = try reopened.read(from: offset, maxBytes: 1, upperBound: reopened.logEndOffset)
                    let header = try #require(RecordBatchHeader.peek(bytes, at: bytes.readerIndex))
                    #expect(header.baseOffset <= offset && offset <= header.lastOffset)
                }
                reopened.close()
            }
        }
    }

    @Test func theLeaderEpochHistoryLosesTheEpochsPastTheNewEnd() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try filledLog(dir)
            #expect(log.leaderEpochCache.entries.map(\.epoch) == [1, 2, 3])
            try log.truncate(to: 45)  // inside epoch 3's first batch (offsets 45-47)
            #expect(log.logEndOffset == 45)
            #expect(log.leaderEpochCache.entries.map(\.epoch) == [1, 2])
            try log.truncate(to: 31)
            #expect(log.logEndOffset == 30)
            #expect(log.leaderEpochCache.entries.map(\.epoch) == [1])
            log.close()
            let text = try String(contentsOfFile: dir.appending("leader-epoch-checkpoint").string, encoding: .utf8)
            #expect(text == "0\n1\n1 0\n")
        }
    }

    @Test func pastTheEndChangesNothingAndBelowTheStartEmptiesTheLog() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try filledLog(dir)
            #expect(try log.truncate(to: 60) == 60)
            #expect(try log.truncate(to: 1000) == 60)
            _ = try log.deleteRecords(beforeOffset: 30)
            #expect(try log.truncate(to: 12) == 12)
            #expect(log.logStartOffset == 12 && log.logEndOffset == 12 && log.segmentCount == 1)
            #expect(try log.readAllBatches().isEmpty)
            try log.append(makeBatch(recordCount: 1, seed: 1), epoch: 5)
            #expect(log.logEndOffset == 13)
            log.close()
            let names = try logFileNames(dir)
            #expect(names == [segmentFileName(12)])
        }
    }

    @Test func producerStateForgetsTruncatedBatches() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            func batch(_ sequence: Int32) -> ByteBuffer {
                var b = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
                b.producerID = 7
                b.producerEpoch = 0
                b.baseSequence = sequence
                for i in 0..<2 { b.append(key: nil, value: ByteBuffer(string: "s\(sequence)-\(i)")) }
                return b.build()
            }
            for s in stride(from: Int32(0), to: 10, by: 2) { try log.append(batch(s), epoch: 0) }
            // The batch at sequence 8 (offsets 8-9) is a duplicate before truncation...
            #expect(try log.checkProducer(batchHeader(batch(8)))?.firstOffset == 8)
            try log.truncate(to: 8)
            // ...and the next in sequence after it.
            #expect(try log.checkProducer(batchHeader(batch(8))) == nil)
            try log.append(batch(8), epoch: 1)
            #expect(log.logEndOffset == 10)
            log.close()
        }
    }
}

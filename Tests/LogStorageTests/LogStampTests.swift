import KafkaProtocol
@testable import LogStorage
import NIOCore
import Testing

/// Stamping a batch's base offset and leader epoch at append: large batches are written as a
/// stamped 16-byte head plus the untouched rest, and read back as one valid batch.
struct LogStampTests {
    @Test(arguments: [1, 2_000])
    func stampedBatchesReadBackWithTheirOffsetsAndAValidCRC(records: Int) throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: LogConfig(), logger: quietLogger)
            defer { log.close() }
            try log.append(makeBatch(recordCount: 3, seed: 0), epoch: 0)  // offsets 0-2
            let batch = makeBatch(recordCount: records, seed: 1)
            let before = Array(batch.readableBytesView)
            #expect((batch.readableBytes >= Log.stampInPlaceBelowBytes) == (records > 1))
            let header = try #require(RecordBatchHeader.peek(batch, at: batch.readerIndex))
            let base = try log.append(batch, header: header, leaderEpoch: 7)
            #expect(base == 3)
            // The caller's buffer (shared with the request) is left as it was.
            #expect(Array(batch.readableBytesView) == before)
            let read = try log.read(from: 3, maxBytes: 1 << 22, upperBound: log.logEndOffset)
            let stored = try #require(RecordBatchHeader.peek(read, at: read.readerIndex))
            #expect(stored.baseOffset == 3)
            #expect(stored.partitionLeaderEpoch == 7)
            #expect(stored.totalSize == batch.readableBytes)
            #expect(RecordBatchHeader.crcMatches(read, at: read.readerIndex, header: stored))
            // Everything after the stamped fields is the batch as sent.
            #expect(Array(read.readableBytesView.dropFirst(16)) == Array(before.dropFirst(16)))
        }
    }
}

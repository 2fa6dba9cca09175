import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// ListOffsets by timestamp (KIP-79) and the max-timestamp record (KIP-734).
@Suite struct LogTimestampTests {
    /// Batch 0: offsets 0-3 at 1000, 1005, 1003, 1010. Batch 1: offsets 4-5 at 2000, 2001.
    /// Batch 2: offsets 6-8 at 1500, 1800, 1700 (timestamps need not grow across batches).
    static func withLog(_ body: (Log) throws -> Void) throws {
        try withTemporaryDirectory { root throws in
            let log = try openLog(root.appending("ts-0"))
            defer { log.close() }
            try log.append(makeBatch(recordCount: 4, seed: 0, baseTimestamp: 1000, timestamps: [1000, 1005, 1003, 1010]), epoch: 1)
            try log.append(makeBatch(recordCount: 2, seed: 1, baseTimestamp: 2000, timestamps: [2000, 2001]), epoch: 2)
            try log.append(makeBatch(recordCount: 3, seed: 2, baseTimestamp: 1500, timestamps: [1500, 1800, 1700]), epoch: 3)
            try body(log)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var target: Int64
        var offset: Int64?
        var timestamp: Int64?
        var epoch: Int32?
        var testDescription: String { "ts \(target) → \(offset.map(String.init) ?? "nil")" }
    }

    @Test(arguments: [
        Case(target: 0, offset: 0, timestamp: 1000, epoch: 1),
        Case(target: 1000, offset: 0, timestamp: 1000, epoch: 1),
        Case(target: 1001, offset: 1, timestamp: 1005, epoch: 1),
        Case(target: 1004, offset: 1, timestamp: 1005, epoch: 1),
        Case(target: 1006, offset: 3, timestamp: 1010, epoch: 1),   // skips 1003 (below target)
        Case(target: 1010, offset: 3, timestamp: 1010, epoch: 1),
        Case(target: 1011, offset: 4, timestamp: 2000, epoch: 2),   // first batch whose max reaches it
        Case(target: 2001, offset: 5, timestamp: 2001, epoch: 2),
        Case(target: 2002, offset: nil, timestamp: nil, epoch: nil), // past the end
    ])
    func offsetForTimestamp(_ c: Case) throws {
        try Self.withLog { log throws in
            let found = try log.offsetForTimestamp(c.target, upperBound: log.logEndOffset)
            #expect(found?.offset == c.offset)
            #expect(found?.timestamp == c.timestamp)
            #expect(found?.leaderEpoch == c.epoch)
        }
    }

    @Test func offsetForTimestampStopsAtTheUpperBound() throws {
        try Self.withLog { log throws in
            #expect(try log.offsetForTimestamp(1011, upperBound: 4) == nil)
            #expect(try log.offsetForTimestamp(1011, upperBound: 5)?.offset == 4)
            #expect(try log.offsetForTimestamp(0, upperBound: 0) == nil)
        }
    }

    @Test func maxTimestampRecord() throws {
        try Self.withLog { log throws in
            let max = try #require(try log.maxTimestampRecord(upperBound: log.logEndOffset))
            #expect(max == Log.TimestampAndOffset(timestamp: 2001, offset: 5, leaderEpoch: 2))
            let belowBatch1 = try #require(try log.maxTimestampRecord(upperBound: 4))
            #expect(belowBatch1 == Log.TimestampAndOffset(timestamp: 1010, offset: 3, leaderEpoch: 1))
            // Ties go to the first record with the largest timestamp.
            try log.append(makeBatch(recordCount: 3, seed: 3, baseTimestamp: 1900, timestamps: [1900, 2001, 2001]), epoch: 4)
            #expect(try log.maxTimestampRecord(upperBound: log.logEndOffset) == max)
            // The largest timestamp in the middle of a batch.
            try log.append(makeBatch(recordCount: 3, seed: 4, baseTimestamp: 3000, timestamps: [3000, 5000, 4000]), epoch: 4)
            #expect(try log.maxTimestampRecord(upperBound: log.logEndOffset) == Log.TimestampAndOffset(timestamp: 5000, offset: 13, leaderEpoch: 4))
        }
    }

    @Test func emptyLogHasNoTimestamps() throws {
        try withTemporaryDirectory { root throws in
            let log = try openLog(root.appending("ts-empty-0"))
            defer { log.close() }
            #expect(try log.offsetForTimestamp(0, upperBound: .max) == nil)
            #expect(try log.maxTimestampRecord(upperBound: .max) == nil)
        }
    }

    @Test func logAppendTimeBatchesUseTheirMaxTimestamp() throws {
        try withTemporaryDirectory { root throws in
            let log = try openLog(root.appending("ts-lat-0"))
            defer { log.close() }
            var builder = RecordBatchBuilder(baseTimestamp: 100)
            builder.attributes = 0x8 // LogAppendTime
            for i in 0..<3 { builder.append(key: nil, value: ByteBuffer(string: "v\(i)"), timestamp: 100 + Int64(i)) }
            try log.append(builder.build(), epoch: 0) // maxTimestamp 102 applies to every record
            #expect(try log.offsetForTimestamp(101, upperBound: .max)?.offset == 0)
            #expect(try log.offsetForTimestamp(102, upperBound: .max)?.timestamp == 102)
            #expect(try log.offsetForTimestamp(103, upperBound: .max) == nil)
        }
    }

    /// A gzip batch (attributes = 1) assembled by hand: header fields, compressed records, CRC-32C.
    static func gzipBatch(timestamps: [Int64]) throws -> ByteBuffer {
        let base = timestamps[0]
        var records = ByteBuffer()
        for (i, ts) in timestamps.enumerated() {
            Record(timestampDelta: ts - base, offsetDelta: Int32(i), key: ByteBuffer(string: "k\(i)"),
                   value: ByteBuffer(string: String(repeating: "compressible ", count: 20)),
                   headers: [Record.Header(key: "n", value: ByteBuffer(string: "\(i)"))]).encode(to: &records)
        }
        var compressed = try CompressionCodec.gzip.compress(records)
        var batch = ByteBuffer()
        batch.writeInteger(Int64(0), endianness: .big)                                   // baseOffset
        batch.writeInteger(Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + compressed.readableBytes),
                           endianness: .big)                                             // batchLength
        batch.writeInteger(Int32(-1), endianness: .big)                                  // partitionLeaderEpoch
        batch.writeInteger(Int8(2))                                                      // magic
        batch.writeInteger(UInt32(0), endianness: .big)                                  // crc, below
        batch.writeInteger(Int16(1), endianness: .big)                                   // attributes: gzip
        batch.writeInteger(Int32(timestamps.count - 1), endianness: .big)                // lastOffsetDelta
        batch.writeInteger(base, endianness: .big)                                       // baseTimestamp
        batch.writeInteger(timestamps.max()!, endianness: .big)                          // maxTimestamp
        batch.writeInteger(Int64(-1), endianness: .big)                                  // producerId
        batch.writeInteger(Int16(-1), endianness: .big)                                  // producerEpoch
        batch.writeInteger(Int32(-1), endianness: .big)                                  // baseSequence
        batch.writeInteger(Int32(timestamps.count), endianness: .big)                    // recordsCount
        batch.writeBuffer(&compressed)
        let crc = batch.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes...]))
        }
        batch.setInteger(crc, at: RecordBatchHeader.Field.crc, endianness: .big)
        return batch
    }

    @Test func offsetForTimestampDecompressesGzipBatches() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("ts-gzip-0")
            let log = try openLog(dir)
            try log.append(makeBatch(recordCount: 2, seed: 0, baseTimestamp: 100, timestamps: [100, 110]), epoch: 0) // 0-1
            let gzip = try Self.gzipBatch(timestamps: [200, 250, 220, 300, 260])                               // 2-6
            let header = try RecordBatchValidator.validateProduced(gzip, maxBatchBytes: 1 << 20)
            #expect(header.compressionCodecID == 1)
            #expect(gzip.readableBytes < RecordBatchHeader.size + 5 * 260, "the records were compressed")
            #expect(try log.append(gzip, header: header, leaderEpoch: 3) == 2)

            #expect(try log.offsetForTimestamp(111, upperBound: .max) == Log.TimestampAndOffset(timestamp: 200, offset: 2, leaderEpoch: 3))
            #expect(try log.offsetForTimestamp(221, upperBound: .max) == Log.TimestampAndOffset(timestamp: 250, offset: 3, leaderEpoch: 3))
            #expect(try log.offsetForTimestamp(255, upperBound: .max) == Log.TimestampAndOffset(timestamp: 300, offset: 5, leaderEpoch: 3))
            #expect(try log.offsetForTimestamp(301, upperBound: .max) == nil)
            #expect(try log.maxTimestampRecord(upperBound: .max) == Log.TimestampAndOffset(timestamp: 300, offset: 5, leaderEpoch: 3))
            log.close()

            // The compressed batch survives recovery byte for byte.
            let reopened = try openLog(dir)
            defer { reopened.close() }
            #expect(reopened.logEndOffset == 7)
            let stored = try reopened.read(from: 4, maxBytes: 1, upperBound: .max)
            #expect(unassignedPart(stored) == unassignedPart(gzip))
            #expect(RecordBatchHeader.crcMatches(stored, at: stored.readerIndex, header: batchHeader(stored)))
            let records = try RecordBatchHeader.records(of: stored, maxUncompressedBytes: 1 << 20)
            #expect(records.map(\.timestampDelta) == [0, 50, 20, 100, 60])
            #expect(try reopened.offsetForTimestamp(221, upperBound: .max)?.offset == 3)
        }
    }
}

import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Up-conversion of produced legacy message sets into one RecordBatch v2, and down-conversion
/// of stored batches into legacy message sets for Fetch v0-3 (Kafka 3.x `LogValidator`,
/// `RecordsUtil.downConvert`).
struct LegacyConversionTests {
    static let t0 = LegacyMessageSetTests.t0

    // MARK: Up-conversion (Produce v0-2)

    @Test(arguments: [(Int8(0), "none"), (0, "gzip"), (0, "snappy"), (1, "none"), (1, "gzip"), (1, "snappy"), (1, "lz4")])
    func upConvertsKafkaPythonSetsIntoOneBatchWithTheProducersCodec(magic: Int8, codec: String) throws {
        let decoded = try LegacyMessageSet.decode(try LegacyMessageSetTests.fixture("kafka-python-m\(magic)-\(codec).bin"),
                                                  maxUncompressedBytes: 1 << 20)
        let (batch, header) = try LegacyMessageSet.upConverted(decoded)
        // The batch is what a v3+ producer could have sent: the same validation accepts it.
        #expect(try RecordBatchValidator.validateProduced(batch, maxBatchBytes: 1 << 20) == header)
        #expect(header.compressionCodecID == CompressionCodec(name: codec)?.rawValue)
        #expect(header.baseOffset == 0 && header.partitionLeaderEpoch == -1)
        #expect(header.producerID == -1 && header.producerEpoch == -1 && header.baseSequence == -1)
        #expect(!header.isLogAppendTime && !header.isTransactional && !header.isControl)
        #expect(header.recordsCount == 6 && header.lastOffsetDelta == 5)
        let timestamps = LegacyMessageSetTests.generated.map { magic == 0 ? -1 : $0.timestamp }
        #expect(header.baseTimestamp == timestamps[0])
        #expect(header.maxTimestamp == timestamps.max())
        let records = try RecordBatchHeader.records(of: batch, maxUncompressedBytes: 1 << 20)
        for (i, (record, want)) in zip(records, LegacyMessageSetTests.generated).enumerated() {
            #expect(record.offsetDelta == Int32(i))
            #expect(header.baseTimestamp + record.timestampDelta == timestamps[i])
            #expect(record.key == LegacyMessageSetTests.bytes(want.key))
            #expect(record.value == LegacyMessageSetTests.bytes(want.value))
            #expect(record.headers.isEmpty)
        }
    }

    @Test func upConversionRefusesProducerSetLogAppendTime() throws {
        let set = LegacyMessageSet.encode([.init(offset: 0, timestamp: 5, isLogAppendTime: true, key: nil, value: ByteBuffer(string: "v"))],
                                          magic: 1)
        let decoded = try LegacyMessageSet.decode(set, maxUncompressedBytes: 1 << 20)
        do {
            _ = try LegacyMessageSet.upConverted(decoded)
            Issue.record("a producer-set LogAppendTime was accepted")
        } catch let error as RecordValidationError {
            #expect(error.errorCode == .invalidTimestamp)
        }
    }

    // MARK: Down-conversion (Fetch v0-3)

    /// offsets 10-12 gzip CreateTime with headers · 13 control marker · 14-15 LogAppendTime at 555.
    static func storedLog() throws -> ByteBuffer {
        var first = RecordBatchBuilder(baseTimestamp: t0)
        first.baseOffset = 10
        for i in 0..<3 {
            first.append(key: ByteBuffer(string: "k\(i)"), value: i == 1 ? nil : ByteBuffer(string: "v\(i)"),
                         headers: [.init(key: "h", value: ByteBuffer(string: "dropped"))], timestamp: t0 + 10 - Int64(i))
        }
        let plain = first.build()
        let header = try #require(RecordBatchHeader.peek(plain, at: 0))
        var log = try RecordBatchHeader.recompressed(header: header, records: RecordBatchHeader.records(of: plain, maxUncompressedBytes: 1 << 20),
                                                     to: .gzip).batch
        var control = RecordBatchBuilder(baseTimestamp: t0)
        control.baseOffset = 13
        control.attributes = 0x30  // transactional control batch
        control.append(key: ByteBuffer(bytes: [0, 0, 0, 1]), value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
        var controlBytes = control.build()
        log.writeBuffer(&controlBytes)
        var appendTime = RecordBatchBuilder(baseTimestamp: t0)
        appendTime.baseOffset = 14
        appendTime.attributes = 0x8
        appendTime.append(key: nil, value: ByteBuffer(string: "v14"))
        appendTime.append(key: ByteBuffer(), value: ByteBuffer(), timestamp: t0 + 1)
        var appendBytes = appendTime.build()
        appendBytes.setInteger(Int64(555), at: RecordBatchHeader.Field.maxTimestamp, endianness: .big)  // CRC not checked here
        log.writeBuffer(&appendBytes)
        return log
    }

    static func convert(_ log: ByteBuffer, magic: Int8, from offset: Int64, maxBytes: Int = .max,
                        minOne: Bool = true) throws -> (LegacyMessageSet.DownConverted, [LegacyRecord]) {
        let out = try LegacyMessageSet.downConverted(log, toMagic: magic, fromOffset: offset, maxBytes: maxBytes, minOneMessage: minOne,
                                                     maxUncompressedBytes: 1 << 20)
        if out.messageCount == 0 { return (out, []) }
        let decoded = try LegacyMessageSet.decode(out.messageSet, maxUncompressedBytes: 1 << 20)
        #expect(decoded.magic == magic && decoded.codec == .none)
        #expect(decoded.records.count == out.messageCount)
        return (out, decoded.records)
    }

    @Test func magic1KeepsOffsetsAndTimestampsAndDropsHeadersAndControlBatches() throws {
        let (out, records) = try Self.convert(try Self.storedLog(), magic: 1, from: 11)
        #expect(records == [
            .init(offset: 11, timestamp: Self.t0 + 9, key: ByteBuffer(string: "k1"), value: nil),
            .init(offset: 12, timestamp: Self.t0 + 8, key: ByteBuffer(string: "k2"), value: ByteBuffer(string: "v2")),
            .init(offset: 14, timestamp: 555, isLogAppendTime: true, key: nil, value: ByteBuffer(string: "v14")),
            .init(offset: 15, timestamp: 555, isLogAppendTime: true, key: ByteBuffer(), value: ByteBuffer()),
        ])
        #expect(out.resumeOffset == 16 && !out.reachedByteLimit)
    }

    @Test func magic0DropsTimestamps() throws {
        let (_, records) = try Self.convert(try Self.storedLog(), magic: 0, from: 10)
        #expect(records.map(\.offset) == [10, 11, 12, 14, 15])
        #expect(records.allSatisfy { $0.timestamp == -1 && !$0.isLogAppendTime })
    }

    @Test func byteLimitKeepsWholeMessagesAndTheFirstOnePastIt() throws {
        let log = try Self.storedLog()
        let (all, _) = try Self.convert(log, magic: 1, from: 10)
        let firstTwo = LegacyMessage(offset: 10, magic: 1, key: ByteBuffer(string: "k0"), value: ByteBuffer(string: "v0")).sizeInBytes
            + LegacyMessage(offset: 11, magic: 1, key: ByteBuffer(string: "k1"), value: nil).sizeInBytes
        let (two, twoRecords) = try Self.convert(log, magic: 1, from: 10, maxBytes: firstTwo)
        #expect(twoRecords.map(\.offset) == [10, 11] && two.reachedByteLimit)
        #expect(two.messageSet == all.messageSet.getSlice(at: 0, length: firstTwo))
        let (one, oneRecords) = try Self.convert(log, magic: 1, from: 10, maxBytes: 1, minOne: true)
        #expect(oneRecords.map(\.offset) == [10] && one.reachedByteLimit)
        let (none, _) = try Self.convert(log, magic: 1, from: 10, maxBytes: 1, minOne: false)
        #expect(none.messageCount == 0 && none.messageSet.readableBytes == 0 && none.reachedByteLimit)
    }

    @Test func aReadOfOnlyControlBatchesSaysWhereToResume() throws {
        var log = try Self.storedLog()
        let first = log.readRecordBatch()
        let second = log.readRecordBatch()
        let control = try #require(second)
        #expect(first?.header.baseOffset == 10)
        let (out, records) = try Self.convert(control.batch, magic: 1, from: 13)
        #expect(records.isEmpty && out.resumeOffset == 14 && !out.reachedByteLimit)
    }

    @Test func aCutOffBatchAtTheEndIsIgnored() throws {
        let log = try Self.storedLog()
        let cut = log.getSlice(at: 0, length: log.readableBytes - 3)!
        let (out, records) = try Self.convert(cut, magic: 1, from: 10)
        #expect(records.map(\.offset) == [10, 11, 12])
        #expect(out.resumeOffset == 14)
    }

    @Test func zstdBatchesAreUnsupportedBelowFetchV10() throws {
        var builder = RecordBatchBuilder(baseTimestamp: Self.t0)
        builder.append(key: nil, value: ByteBuffer(string: "z"))
        let plain = builder.build()
        let zstd = try RecordBatchHeader.recompressed(header: try #require(RecordBatchHeader.peek(plain, at: 0)),
                                                      records: RecordBatchHeader.records(of: plain, maxUncompressedBytes: 1 << 10), to: .zstd).batch
        do {
            _ = try Self.convert(zstd, magic: 1, from: 0)
            Issue.record("zstd was down-converted")
        } catch let error as RecordValidationError {
            #expect(error.errorCode == .unsupportedCompressionType)
        }
    }

    @Test(arguments: [Int8(0), 1])
    func upThenDownConversionGivesTheRecordsBack(magic: Int8) throws {
        let decoded = try LegacyMessageSet.decode(try LegacyMessageSetTests.fixture("kafka-python-m\(magic)-gzip.bin"), maxUncompressedBytes: 1 << 20)
        var (batch, _) = try LegacyMessageSet.upConverted(decoded)
        RecordBatchHeader.assign(baseOffset: 100, partitionLeaderEpoch: 0, in: &batch, at: 0)
        let (_, records) = try Self.convert(batch, magic: magic, from: 100)
        #expect(records == decoded.records.enumerated().map { i, r in
            LegacyRecord(offset: 100 + Int64(i), timestamp: r.timestamp, key: r.key, value: r.value)
        })
    }
}

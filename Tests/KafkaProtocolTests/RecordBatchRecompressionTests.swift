import KafkaProtocol
import NIOCore
import Testing

/// `RecordBatchHeader.recompressed`: the broker's rewrite for a topic whose `compression.type`
/// differs from the producer's codec.
struct RecordBatchRecompressionTests {
    static func idempotentBatch() -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        builder.producerID = 4242
        builder.producerEpoch = 3
        builder.baseSequence = 17
        builder.partitionLeaderEpoch = 9
        for i in 0..<50 {
            builder.append(key: i % 7 == 0 ? nil : ByteBuffer(string: "k\(i)"),
                           value: i == 3 ? nil : ByteBuffer(string: String(repeating: "value-\(i)-", count: 20)),
                           headers: [.init(key: "h", value: i % 2 == 0 ? nil : ByteBuffer(string: "v"))],
                           timestamp: 1_700_000_000_000 + Int64(i * 5))
        }
        return builder.build()
    }

    @Test(arguments: CompressionCodec.allCases)
    func keepsEveryHeaderFieldButCodecLengthAndCRC(codec: CompressionCodec) throws {
        let original = Self.idempotentBatch()
        let header = try #require(RecordBatchHeader.peek(original, at: 0))
        let records = try RecordBatchHeader.records(of: original, maxUncompressedBytes: 1 << 20)
        let (batch, rewritten) = try RecordBatchHeader.recompressed(header: header, records: records, to: codec)
        #expect(rewritten.compressionCodecID == codec.rawValue)
        #expect(rewritten.totalSize == batch.readableBytes)
        #expect(RecordBatchHeader.crcMatches(batch, at: 0, header: rewritten))
        #expect(RecordBatchHeader.peek(batch, at: 0) == rewritten)
        var expected = header
        expected.attributes = (header.attributes & ~0x7) | codec.rawValue
        expected.batchLength = rewritten.batchLength
        expected.crc = rewritten.crc
        #expect(rewritten == expected)
        #expect(try RecordBatchHeader.records(of: batch, maxUncompressedBytes: 1 << 20) == records)
        if codec != .none { #expect(batch.readableBytes < original.readableBytes) }
    }

    @Test func recompressingBackToNoneGivesTheOriginalBytes() throws {
        let original = Self.idempotentBatch()
        let header = try #require(RecordBatchHeader.peek(original, at: 0))
        let records = try RecordBatchHeader.records(of: original, maxUncompressedBytes: 1 << 20)
        let zstd = try RecordBatchHeader.recompressed(header: header, records: records, to: .zstd)
        let back = try RecordBatchHeader.recompressed(header: zstd.header,
                                                      records: try RecordBatchHeader.records(of: zstd.batch, maxUncompressedBytes: 1 << 20),
                                                      to: .none)
        #expect(back.batch == original)
    }

    @Test func keepsTransactionalAndTimestampTypeBits() throws {
        var builder = RecordBatchBuilder(baseTimestamp: 5)
        builder.attributes = 0x10 | 0x8 | CompressionCodec.gzip.rawValue
        builder.append(key: nil, value: ByteBuffer(string: "v"))
        // The builder writes records uncompressed; only the attribute bits matter here.
        let header = try #require(RecordBatchHeader.peek(builder.build(), at: 0))
        let rewritten = try RecordBatchHeader.recompressed(header: header, records: [Record(timestampDelta: 0, offsetDelta: 0, key: nil,
                                                                                            value: ByteBuffer(string: "v"))], to: .lz4)
        #expect(rewritten.header.attributes == 0x10 | 0x8 | CompressionCodec.lz4.rawValue)
    }
}

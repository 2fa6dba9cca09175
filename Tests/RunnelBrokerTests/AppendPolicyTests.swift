import KafkaProtocol
import NIOCore
@testable import RunnelBroker
import Testing

/// The per-topic rules applied to each produced batch: timestamp bounds (KIP-937),
/// `compression.type` recompression, LogAppendTime stamping and keys on compacted topics.
struct AppendPolicyTests {
    static let now: Int64 = 1_800_000_000_000

    static func batch(timestamps: [Int64], keys: Bool = true, codec: CompressionCodec = .none) throws -> (ByteBuffer, RecordBatchHeader) {
        var builder = RecordBatchBuilder(baseTimestamp: timestamps[0])
        for (i, ts) in timestamps.enumerated() {
            builder.append(key: keys ? ByteBuffer(string: "k\(i)") : nil, value: ByteBuffer(string: String(repeating: "v", count: 300)),
                           timestamp: ts)
        }
        var bytes = builder.build()
        var header = try #require(RecordBatchHeader.peek(bytes, at: 0))
        if codec != .none {
            (bytes, header) = try RecordBatchHeader.recompressed(header: header, records: try RecordBatchHeader.records(of: bytes, maxUncompressedBytes: 1 << 20), to: codec)
        }
        return (bytes, header)
    }

    static func apply(_ policy: AppendPolicy, _ input: (ByteBuffer, RecordBatchHeader), requireKeys: Bool = false,
                      maxBatchBytes: Int = 1 << 20) throws -> (ByteBuffer, RecordBatchHeader) {
        var (bytes, header) = input
        try policy.apply(to: &bytes, header: &header, requireKeys: requireKeys, maxBatchBytes: maxBatchBytes, nowMs: now)
        return (bytes, header)
    }

    static func code(_ body: () throws -> Void) -> ErrorCode? {
        do { try body(); return nil } catch let e as RecordValidationError { return e.errorCode } catch { return .unknownServerError }
    }

    @Test func defaultPolicyStoresTheBatchUnchanged() throws {
        let input = try Self.batch(timestamps: [Self.now - 10_000_000_000, Self.now], codec: .gzip)
        let output = try Self.apply(AppendPolicy(timestampAfterMaxMs: 3_600_000), input)
        #expect(output.0 == input.0)
        #expect(output.1 == input.1)
    }

    @Test func timestampsAfterTheBoundAreRejectedFromTheHeader() throws {
        let policy = AppendPolicy(timestampAfterMaxMs: 3_600_000)
        #expect(Self.code { _ = try Self.apply(policy, try Self.batch(timestamps: [Self.now, Self.now + 3_600_000])) } == nil)
        #expect(Self.code { _ = try Self.apply(policy, try Self.batch(timestamps: [Self.now, Self.now + 3_600_001])) } == .invalidTimestamp)
        // An unbounded policy never overflows now + bound.
        #expect(Self.code { _ = try Self.apply(AppendPolicy(), try Self.batch(timestamps: [Int64.max - 1])) } == nil)
    }

    @Test func timestampsBeforeTheBoundAreCheckedPerRecordEvenInsideCompressedBatches() throws {
        let policy = AppendPolicy(timestampBeforeMaxMs: 60_000)
        #expect(Self.code { _ = try Self.apply(policy, try Self.batch(timestamps: [Self.now, Self.now - 60_000], codec: .lz4)) } == nil)
        // The old record is the second one: the batch's first timestamp is in range.
        #expect(Self.code { _ = try Self.apply(policy, try Self.batch(timestamps: [Self.now, Self.now - 60_001], codec: .lz4)) } == .invalidTimestamp)
    }

    /// Records up-converted from magic 0 carry -1 (NO_TIMESTAMP), which Kafka's LogValidator does not bound.
    @Test func recordsWithoutTimestampPassTheBeforeBound() throws {
        let policy = AppendPolicy(timestampBeforeMaxMs: 60_000, timestampAfterMaxMs: 3_600_000)
        #expect(Self.code { _ = try Self.apply(policy, try Self.batch(timestamps: [-1, -1, -1], codec: .gzip)) } == nil)
        #expect(Self.code { _ = try Self.apply(policy, try Self.batch(timestamps: [-1, 0])) } == .invalidTimestamp)
    }

    @Test func logAppendTimeSkipsTimestampChecksAndStampsTheBatch() throws {
        let policy = AppendPolicy(logAppendTime: true, timestampBeforeMaxMs: 1, timestampAfterMaxMs: 1)
        let (bytes, header) = try Self.apply(policy, try Self.batch(timestamps: [0, 5]))
        #expect(header.isLogAppendTime)
        #expect(header.maxTimestamp == Self.now)
        #expect(RecordBatchHeader.crcMatches(bytes, at: 0, header: header))
        #expect(RecordBatchHeader.peek(bytes, at: 0) == header)
    }

    @Test(arguments: CompressionCodec.allCases)
    func compressionTypeRecompressesBatchesWithAnotherCodec(target: CompressionCodec) throws {
        for producerCodec in CompressionCodec.allCases {
            let input = try Self.batch(timestamps: [Self.now, Self.now + 1], codec: producerCodec)
            let (bytes, header) = try Self.apply(AppendPolicy(compression: target), input)
            #expect(header.compressionCodecID == target.rawValue)
            #expect(RecordBatchHeader.crcMatches(bytes, at: 0, header: header))
            #expect(try RecordBatchHeader.records(of: bytes, maxUncompressedBytes: 1 << 20)
                    == RecordBatchHeader.records(of: input.0, maxUncompressedBytes: 1 << 20))
            if producerCodec == target { #expect(bytes == input.0) }
        }
    }

    @Test func recompressedBatchMustStillFitMaxMessageBytes() throws {
        let input = try Self.batch(timestamps: [Self.now, Self.now], codec: .zstd)
        #expect(Self.code { _ = try Self.apply(AppendPolicy(compression: CompressionCodec.none), input, maxBatchBytes: input.0.readableBytes) }
                == .messageTooLarge)
    }

    @Test func anUnsetMaxTimestampIsRecomputedFromTheRecords() throws {
        for codec in [CompressionCodec.none, .gzip] {
            var (bytes, header) = try Self.batch(timestamps: [Self.now - 50, Self.now - 10, Self.now - 30], codec: codec)
            // As sarama 1.22 sends it: max timestamp -1.
            header.maxTimestamp = -1
            AppendPolicy.rewriteHeaderFields(&bytes, header: &header)
            let (fixed, fixedHeader) = try Self.apply(AppendPolicy(), (bytes, header))
            #expect(fixedHeader.maxTimestamp == Self.now - 10)
            #expect(RecordBatchHeader.peek(fixed, at: 0) == fixedHeader)
            #expect(RecordBatchHeader.crcMatches(fixed, at: 0, header: fixedHeader))
        }
    }

    @Test func compactedTopicsNeedKeys() throws {
        #expect(Self.code { _ = try Self.apply(AppendPolicy(), try Self.batch(timestamps: [Self.now], keys: false), requireKeys: true) }
                == .invalidRecord)
        #expect(Self.code { _ = try Self.apply(AppendPolicy(), try Self.batch(timestamps: [Self.now]), requireKeys: true) } == nil)
    }
}

import KafkaProtocol
import NIOCore
@testable import RunnelBroker
import Testing

/// Produce v0-2 and Fetch v0-3 through the router: legacy message sets (magic 0 and 1) are
/// up-converted into one stored magic-2 batch and stored batches are down-converted on the way
/// out, as Kafka 3.x did.
struct LegacyFormatRouterTests {
    static let t0: Int64 = 1_700_000_000_000
    typealias Router = RequestRouterTests

    static func createTopic(_ router: RequestRouter, _ name: String, configs: [CreateTopicsRequest.Config] = []) async throws {
        let created = try await Router.roundTrip(router, CreateTopicsRequest(topics: [
            .init(name: name, numPartitions: 1, replicationFactor: 1, configs: configs),
        ]), version: 0)
        #expect(created.topics.first?.errorCode == ErrorCode.none)
    }

    static func produce(_ router: RequestRouter, _ topic: String, _ records: ByteBuffer, version: Int16) async throws
        -> ProduceResponse.PartitionResponse
    {
        let response = try await Router.roundTrip(router, ProduceRequest(acks: -1, timeoutMs: 1000, topicData: [
            .init(name: topic, partitionData: [.init(index: 0, records: records)]),
        ]), version: version)
        return try #require(response.responses.first?.partitionResponses.first)
    }

    static func fetch(_ router: RequestRouter, _ topic: String, offset: Int64, version: Int16, partitionMaxBytes: Int32 = 1 << 20,
                      maxBytes: Int32 = 1 << 20) async throws -> FetchResponse.PartitionData {
        let response = try await Router.roundTrip(router, FetchRequest(maxWaitMs: 0, minBytes: 0, maxBytes: maxBytes, topics: [
            .init(topic: topic, partitions: [.init(partition: 0, fetchOffset: offset, partitionMaxBytes: partitionMaxBytes)]),
        ]), version: version)
        return try #require(response.responses.first?.partitions.first)
    }

    /// Three records as a legacy client writes them: plain messages, or one wrapper around them.
    static func legacySet(magic: Int8, codec: CompressionCodec) throws -> ByteBuffer {
        let records = (0..<3).map { i in
            LegacyRecord(offset: Int64(i), timestamp: magic == 0 ? -1 : t0 + Int64(10 - i),
                         key: i == 1 ? nil : ByteBuffer(string: "k\(i)"), value: ByteBuffer(string: String(repeating: "value-\(i) ", count: 30)))
        }
        let plain = LegacyMessageSet.encode(records, magic: magic)
        guard codec != .none else { return plain }
        var wrapped = ByteBuffer()
        LegacyMessage(offset: magic == 0 ? 2 : 0, magic: magic, attributes: Int8(codec.rawValue), timestamp: 0, key: nil,
                      value: try codec.compress(plain)).encode(to: &wrapped)
        return wrapped
    }

    static func expectRecords(_ records: [LegacyRecord], magic: Int8, producedMagic: Int8, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(records.map(\.offset) == [0, 1, 2], sourceLocation: sourceLocation)
        #expect(records.map(\.key) == [ByteBuffer(string: "k0"), nil, ByteBuffer(string: "k2")], sourceLocation: sourceLocation)
        #expect(records.map(\.value) == (0..<3).map { ByteBuffer(string: String(repeating: "value-\($0) ", count: 30)) },
                sourceLocation: sourceLocation)
        let timestamps: [Int64] = magic == 0 || producedMagic == 0 ? [-1, -1, -1] : [t0 + 10, t0 + 9, t0 + 8]
        #expect(records.map(\.timestamp) == timestamps, sourceLocation: sourceLocation)
    }

    @Test(arguments: [Int16(0), 1, 2], [CompressionCodec.none, .gzip, .snappy, .lz4])
    func legacyProduceIsStoredAsOneBatchAndEveryFetchVersionReadsIt(produceVersion: Int16, codec: CompressionCodec) async throws {
        try await Router.withRouter { router in
            try await Self.createTopic(router, "legacy")
            // Kafka clients write magic 0 with Produce v0-1 and magic 1 with Produce v2.
            let magic: Int8 = produceVersion == 2 ? 1 : 0
            let produced = try await Self.produce(router, "legacy", try Self.legacySet(magic: magic, codec: codec), version: produceVersion)
            #expect(produced.errorCode == ErrorCode.none && produced.baseOffset == 0)

            // Fetch v4+: one magic-2 batch with the producer's codec.
            let v4 = try await Self.fetch(router, "legacy", offset: 0, version: 4)
            var stored = v4.records
            let first = stored.readRecordBatch()
            let batch = try #require(first)
            #expect(stored.readableBytes == 0)
            #expect(batch.header.compressionCodecID == codec.rawValue && batch.header.recordsCount == 3)
            #expect(batch.header.producerID == -1)

            for fetchVersion in Int16(0)...3 {
                let p = try await Self.fetch(router, "legacy", offset: 0, version: fetchVersion)
                #expect(p.errorCode == ErrorCode.none && p.highWatermark == 3)
                let decoded = try LegacyMessageSet.decode(p.records, maxUncompressedBytes: 1 << 20)
                let fetchMagic: Int8 = fetchVersion >= 2 ? 1 : 0
                #expect(decoded.magic == fetchMagic && decoded.codec == CompressionCodec.none)
                Self.expectRecords(decoded.records, magic: fetchMagic, producedMagic: magic)
            }
        }
    }

    @Test func legacyFetchStartsAtTheFetchOffsetAndKeepsWithinTheByteLimits() async throws {
        try await Router.withRouter { router in
            try await Self.createTopic(router, "limits")
            var builder = RecordBatchBuilder(baseTimestamp: Self.t0)
            for i in 0..<5 {
                builder.append(key: nil, value: ByteBuffer(string: "value-\(i)"), headers: [.init(key: "h", value: nil)],
                               timestamp: Self.t0 + Int64(i))
            }
            #expect(try await Self.produce(router, "limits", builder.build(), version: 3).errorCode == ErrorCode.none)
            let message = LegacyMessage(offset: 0, magic: 1, key: nil, value: ByteBuffer(string: "value-0")).sizeInBytes

            // The first message goes out even past partition_max_bytes (KIP-74); then whole messages only.
            let one = try await Self.fetch(router, "limits", offset: 2, version: 2, partitionMaxBytes: 1)
            #expect(try LegacyMessageSet.decode(one.records, maxUncompressedBytes: 1 << 20).records.map(\.offset) == [2])
            let two = try await Self.fetch(router, "limits", offset: 1, version: 3, maxBytes: Int32(2 * message + message / 2))
            let twoRecords = try LegacyMessageSet.decode(two.records, maxUncompressedBytes: 1 << 20).records
            #expect(twoRecords.map(\.offset) == [1, 2])
            #expect(twoRecords.map(\.timestamp) == [Self.t0 + 1, Self.t0 + 2])

            let atEnd = try await Self.fetch(router, "limits", offset: 5, version: 1)
            #expect(atEnd.errorCode == ErrorCode.none && atEnd.records.readableBytes == 0 && atEnd.highWatermark == 5)
            let past = try await Self.fetch(router, "limits", offset: 6, version: 0)
            #expect(past.errorCode == .offsetOutOfRange)
        }
    }

    /// Control batches mean nothing to a legacy consumer: a read that found only them moves on.
    @Test func legacyFetchSkipsControlBatches() async throws {
        try await Router.withRouter { router in
            try await Self.createTopic(router, "control")
            var control = RecordBatchBuilder(baseTimestamp: Self.t0)
            control.attributes = 0x20
            control.append(key: ByteBuffer(bytes: [0, 0, 0, 1]), value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
            // Clients may not write control batches (Kafka's LogValidator): the broker's own append
            // path (as a coordinator writing transaction markers would) gives this test its marker.
            #expect(try await Self.produce(router, "control", control.build(), version: 3).errorCode == .invalidRecord)
            let partition = try #require(await router.handlers.controller.partition(TopicPartition("control", 0)))
            _ = try await partition.append(control.build(), nowMs: Self.t0, origin: .coordinator)
            var data = RecordBatchBuilder(baseTimestamp: Self.t0)
            data.append(key: nil, value: ByteBuffer(string: "after the marker"))
            #expect(try await Self.produce(router, "control", data.build(), version: 3).errorCode == ErrorCode.none)
            // A byte limit that holds only the control batch's read, then the retry reads on.
            let p = try await Self.fetch(router, "control", offset: 0, version: 2, partitionMaxBytes: 1)
            let records = try LegacyMessageSet.decode(p.records, maxUncompressedBytes: 1 << 20).records
            #expect(records.map(\.offset) == [1])
            #expect(records.map(\.value) == [ByteBuffer(string: "after the marker")])
        }
    }

    @Test func zstdDataIsUnsupportedForLegacyFetches() async throws {
        try await Router.withRouter { router in
            try await Self.createTopic(router, "zstd")
            var builder = RecordBatchBuilder(baseTimestamp: Self.t0)
            builder.append(key: nil, value: ByteBuffer(string: "z"))
            let plain = builder.build()
            let zstd = try RecordBatchHeader.recompressed(header: try #require(RecordBatchHeader.peek(plain, at: 0)),
                                                          records: RecordBatchHeader.records(of: plain, maxUncompressedBytes: 1 << 10), to: .zstd).batch
            #expect(try await Self.produce(router, "zstd", zstd, version: 7).errorCode == ErrorCode.none)
            for version in Int16(0)...3 {
                let p = try await Self.fetch(router, "zstd", offset: 0, version: version)
                #expect(p.errorCode == .unsupportedCompressionType && p.highWatermark == 1 && p.records.readableBytes == 0)
            }
        }
    }

    @Test func badLegacyProducesAreRefusedAndStoreNothing() async throws {
        try await Router.withRouter { router in
            try await Self.createTopic(router, "bad", configs: [.init(name: "max.message.bytes", value: "300")])
            var corrupt = try Self.legacySet(magic: 1, codec: .none)
            corrupt.setInteger(UInt8(0xFF), at: corrupt.writerIndex - 1)
            #expect(try await Self.produce(router, "bad", corrupt, version: 2).errorCode == .corruptMessage)

            var zstd = ByteBuffer()
            LegacyMessage(offset: 0, magic: 1, attributes: 4, timestamp: 0, key: nil,
                          value: try CompressionCodec.zstd.compress(try Self.legacySet(magic: 1, codec: .none))).encode(to: &zstd)
            #expect(try await Self.produce(router, "bad", zstd, version: 2).errorCode == .unsupportedCompressionType)

            var big = ByteBuffer()
            LegacyMessage(offset: 0, magic: 0, key: nil, value: ByteBuffer(repeating: 0x61, count: 400)).encode(to: &big)
            let tooLarge = try await Self.produce(router, "bad", big, version: 1)
            #expect(tooLarge.errorCode == .messageTooLarge)

            let producerLogAppendTime = LegacyMessageSet.encode([.init(offset: 0, timestamp: 1, isLogAppendTime: true, key: nil, value: nil)], magic: 1)
            #expect(try await Self.produce(router, "bad", producerLogAppendTime, version: 2).errorCode == .invalidTimestamp)

            #expect(try await Self.fetch(router, "bad", offset: 0, version: 4).highWatermark == 0)

            // Kafka 3.x also took a magic-2 batch in Produce v0-2.
            var builder = RecordBatchBuilder(baseTimestamp: Self.t0)
            builder.append(key: nil, value: ByteBuffer(string: "v2 batch in Produce v2"))
            #expect(try await Self.produce(router, "bad", builder.build(), version: 2).errorCode == ErrorCode.none)
        }
    }
}

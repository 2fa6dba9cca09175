import KafkaProtocol
import LogStorage
import NIOCore
@testable import RunnelBroker
import SystemPackage
import Testing

/// Fetch responses with their large record sets spliced in (sent from the buffers they were read
/// into) are byte-for-byte the responses encoded in one buffer.
struct ResponseBytesTests {
    static func records(_ count: Int, seed: UInt8) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0) &+ seed })
    }

    static let response = FetchResponse(throttleTimeMs: 3, sessionID: 7, responses: [
        .init(topic: "a", partitions: [
            .init(partitionIndex: 0, highWatermark: 10, records: records(20_000, seed: 1)),
            .init(partitionIndex: 1, highWatermark: 11, records: records(100, seed: 2)),
            .init(partitionIndex: 2, highWatermark: 12),
        ]),
        .init(topic: "b", partitions: [
            .init(partitionIndex: 0, errorCode: .offsetOutOfRange, highWatermark: 5, records: records(9_000, seed: 3)),
            .init(partitionIndex: 1, highWatermark: 11, records: records(8_192, seed: 4)),
        ]),
    ])

    @Test(arguments: [Int16(4), 11, 12, 16])
    func splicedFetchResponseIsTheSameBytes(version: Int16) throws {
        let whole = RequestRouter.frame(Self.response, apiKey: .fetch, version: version, correlationID: 99)
        let spliced = RequestRouter.frameParts(Self.response, apiKey: .fetch, version: version, correlationID: 99,
                                               spliceBytesAtLeast: 8_192)
        // Header+fields, 20,000 records, fields, 9,000 records, fields, 8,192 records, the rest.
        #expect(spliced.parts.count == 7)
        #expect(spliced.byteCount == whole.readableBytes)
        #expect(Array(try spliced.joined().readableBytesView) == Array(whole.readableBytesView))
        var size = Self.buffer(spliced.parts[0])
        #expect(size.readInteger(as: Int32.self) == Int32(whole.readableBytes - 4))
        // The spliced record sets are the caller's buffers, not copies.
        let original = Self.response.responses[0].partitions[0].records
        let same = Self.buffer(spliced.parts[1]).withUnsafeReadableBytes { a in original.withUnsafeReadableBytes { b in a.baseAddress == b.baseAddress } }
        #expect(same)
        // And the response decodes back to what was encoded.
        var frame = try spliced.joined()
        frame.moveReaderIndex(forwardBy: 4)
        #expect(try ResponseHeader.decode(from: &frame, version: ApiKey.fetch.responseHeaderVersion(version)).correlationID == 99)
        let decoded = try FetchResponse.decode(frame, apiKey: .fetch, version: version)
        #expect(decoded.responses.map { $0.partitions.map(\.records) } == Self.response.responses.map { $0.partitions.map(\.records) })
    }

    @Test func withoutSplicingOnePartIsWritten() {
        let bytes = RequestRouter.frameParts(Self.response, apiKey: .fetch, version: 12, correlationID: 1, spliceBytesAtLeast: nil)
        #expect(bytes.parts.count == 1)
    }

    private static func buffer(_ part: KafkaWriter.Part) -> ByteBuffer {
        guard case .bytes(let buffer) = part else { Issue.record("expected bytes, got \(part)"); return ByteBuffer() }
        return buffer
    }

    /// A record set left in its segment file is a part of its own, after its length: the frame
    /// is byte-for-byte the one with the same batches encoded in memory, for every flexible and
    /// non-flexible version that can carry it.
    @Test(arguments: [Int16(4), 11, 12, 16])
    func fileRecordsAreAPartAfterTheirLength(version: Int16) throws {
        try withTemporaryDirectory { (dir: String) in
            let log = try Log(directory: FilePath(dir), config: LogConfig(), logger: quietLogger)
            defer { log.close() }
            var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
            for i in 0..<50 { builder.append(key: nil, value: ByteBuffer(repeating: UInt8(i), count: 1_000)) }
            let batch = builder.build()
            _ = try log.append(batch, header: try #require(RecordBatchHeader.peek(batch, at: batch.readerIndex)), leaderEpoch: 0)
            guard case .file(let file) = try log.readForSending(from: 0, maxBytes: 1 << 20, upperBound: 50, fileAtLeast: 1) else {
                Issue.record("expected a file range"); return
            }
            let inMemory = try file.readBytes()
            var byFile = FetchResponse.PartitionData(partitionIndex: 0, highWatermark: 50)
            byFile.externalRecords = ExternalRecords(file)
            let small = FetchResponse.PartitionData(partitionIndex: 1, highWatermark: 3, records: Self.records(100, seed: 9))
            let response = FetchResponse(responses: [.init(topic: "t", partitions: [byFile, small])])
            let expected = FetchResponse(responses: [.init(topic: "t", partitions: [
                .init(partitionIndex: 0, highWatermark: 50, records: inMemory), small,
            ])])
            let whole = RequestRouter.frame(expected, apiKey: .fetch, version: version, correlationID: 5)
            let parts = RequestRouter.frameParts(response, apiKey: .fetch, version: version, correlationID: 5,
                                                 spliceBytesAtLeast: RequestRouter.spliceBytesAtLeast)
            #expect(parts.parts.count == 3)
            guard case .external(let external) = parts.parts[1] else { Issue.record("expected the file part second"); return }
            #expect(external.source === file)
            #expect(parts.byteCount == whole.readableBytes)
            #expect(Array(try parts.joined().readableBytesView) == Array(whole.readableBytesView))
        }
    }
}

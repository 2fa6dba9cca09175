import KafkaProtocol
import NIOCore
import Testing
@testable import RunnelClient

@Suite("Consumer fetch decoding")
struct FetchDecodingTests {
    let tp = TopicPartition(topic: "t", partition: 0)

    /// A batch at `baseOffset` with one record per value; `transactional`/`control` set attribute bits 4/5.
    func batch(_ baseOffset: Int64, _ values: [String], producerID: Int64 = -1, transactional: Bool = false,
               control: Bool = false, logAppendTime: Int64? = nil) -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: 1000)
        builder.baseOffset = baseOffset
        builder.producerID = producerID
        builder.attributes = (transactional ? 0x10 : 0) | (control ? 0x20 : 0) | (logAppendTime != nil ? 0x08 : 0)
        for (i, v) in values.enumerated() { builder.append(key: nil, value: ByteBuffer(string: v), timestamp: 1000 + Int64(i)) }
        var bytes = builder.build()
        if let logAppendTime {
            bytes.setInteger(logAppendTime, at: RecordBatchHeader.Field.maxTimestamp, endianness: .big)
            let crc = bytes.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes...])) }
            bytes.setInteger(crc, at: RecordBatchHeader.Field.crc, endianness: .big)
        }
        return bytes
    }

    func decode(_ batches: [ByteBuffer], from position: Int64, isolation: IsolationLevel,
                aborted: [FetchResponse.AbortedTransaction]? = nil) async throws -> ([String], Int64) {
        var config = ConsumerConfiguration()
        config.isolationLevel = isolation
        let consumer = Consumer(configuration: config)
        var records = ByteBuffer()
        for var b in batches { records.writeBuffer(&b) }
        let data = FetchResponse.PartitionData(partitionIndex: 0, highWatermark: 100, abortedTransactions: aborted, records: records)
        let (out, next) = try await consumer.decodeRecords(data, topicPartition: tp, from: position)
        return (out.map { String(buffer: $0.value!) }, next)
    }

    @Test("records before the position (inside the first batch) are skipped; a cut-off last batch is left for the next fetch")
    func positionAndPartialBatch() async throws {
        var partial = batch(3, ["d"])
        partial.moveWriterIndex(to: partial.writerIndex - 5)
        let (values, next) = try await decode([batch(0, ["a", "b", "c"]), partial], from: 1, isolation: .readUncommitted)
        #expect(values == ["b", "c"])
        #expect(next == 3)
    }

    @Test("read_committed skips aborted transactions and control batches; read_uncommitted skips only control batches")
    func isolation() async throws {
        let batches = [
            batch(0, ["committed-1"], producerID: 7, transactional: true),
            batch(1, ["aborted-1", "aborted-2"], producerID: 9, transactional: true),
            batch(3, ["marker"], producerID: 9, transactional: true, control: true),   // ABORT for 9
            batch(4, ["marker"], producerID: 7, transactional: true, control: true),   // COMMIT for 7
            batch(5, ["plain"]),
        ]
        let aborted = [FetchResponse.AbortedTransaction(producerID: 9, firstOffset: 1)]
        let (committed, next) = try await decode(batches, from: 0, isolation: .readCommitted, aborted: aborted)
        #expect(committed == ["committed-1", "plain"])
        #expect(next == 6)
        let (everything, _) = try await decode(batches, from: 0, isolation: .readUncommitted, aborted: aborted)
        #expect(everything == ["committed-1", "aborted-1", "aborted-2", "plain"])
    }

    @Test("a batch whose CRC-32C does not match is rejected as CORRUPT_MESSAGE")
    func corruptBatch() async throws {
        var bad = batch(0, ["a"])
        bad.setInteger(UInt8(ascii: "z"), at: bad.writerIndex - 2)
        await #expect(throws: ClientError.self) { try await decode([bad], from: 0, isolation: .readUncommitted) }
    }

    @Test("LogAppendTime batches give every record the batch's max timestamp")
    func logAppendTime() async throws {
        var config = ConsumerConfiguration()
        config.isolationLevel = .readUncommitted
        let consumer = Consumer(configuration: config)
        let data = FetchResponse.PartitionData(partitionIndex: 0, highWatermark: 2,
                                               records: batch(0, ["x", "y"], logAppendTime: 5555))
        let (records, _) = try await consumer.decodeRecords(data, topicPartition: tp, from: 0)
        #expect(records.map(\.timestamp) == [5555, 5555])
        #expect(records.map(\.timestampType) == [.logAppendTime, .logAppendTime])
    }
}

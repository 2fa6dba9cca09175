import KafkaProtocol
import NIOCore
import Testing
@testable import RunnelClient

@Suite("Record accumulator")
struct AccumulatorTests {
    let tp = TopicPartition(topic: "t", partition: 0)
    let start = ContinuousClock.now

    func append(_ acc: inout RecordAccumulator, bytes: Int, at offset: Duration = .zero) -> RecordAccumulator.AppendResult {
        let value = ByteBuffer(repeating: 7, count: bytes)
        let size = ProducerBatch.estimatedSize(key: nil, value: value, headers: [])
        return acc.append(to: tp, key: nil, value: value, headers: [], timestamp: 1000, memoryBytes: size,
                          now: start + offset, handler: .single { _ in })
    }

    @Test("records share a batch until batch.size, then a new batch starts and the old one is ready at once")
    func batchesFillUp() {
        var acc = RecordAccumulator(batchSizeBytes: 1000, linger: .seconds(10), deliveryTimeout: .seconds(60))
        #expect(append(&acc, bytes: 300) == .init(createdBatch: true, batchFull: false))
        #expect(append(&acc, bytes: 300) == .init(createdBatch: false, batchFull: false))
        #expect(!acc.headIsReady(tp, now: start, flushing: false))
        #expect(append(&acc, bytes: 300) == .init(createdBatch: true, batchFull: true))
        #expect(acc.queues[tp]?.count == 2)
        #expect(acc.queues[tp]?.first?.count == 2)
        #expect(acc.headIsReady(tp, now: start, flushing: false))
    }

    @Test("a batch becomes ready after linger, or at once when flushing")
    func lingerAndFlush() {
        var acc = RecordAccumulator(batchSizeBytes: 100_000, linger: .milliseconds(5), deliveryTimeout: .seconds(60))
        _ = append(&acc, bytes: 10)
        #expect(!acc.headIsReady(tp, now: start + .milliseconds(4), flushing: false))
        #expect(acc.headIsReady(tp, now: start, flushing: true))
        #expect(acc.headIsReady(tp, now: start + .milliseconds(5), flushing: false))
        #expect(acc.nextReadyTime() == start + .milliseconds(5))
    }

    @Test("a record larger than batch.size gets a batch of its own, closed")
    func oversizedRecord() {
        var acc = RecordAccumulator(batchSizeBytes: 100, linger: .seconds(1), deliveryTimeout: .seconds(60))
        #expect(append(&acc, bytes: 500) == .init(createdBatch: true, batchFull: true))
        #expect(acc.headIsReady(tp, now: start, flushing: false))
    }

    @Test("a retried batch goes back in front of later batches and waits for its backoff")
    func reenqueueKeepsOrder() {
        var acc = RecordAccumulator(batchSizeBytes: 100, linger: .zero, deliveryTimeout: .seconds(60))
        _ = append(&acc, bytes: 80)
        let first = acc.takeHead(tp)!
        _ = append(&acc, bytes: 80)
        first.retryAt = start + .milliseconds(100)
        acc.reenqueue(first)
        #expect(acc.queues[tp]?.map(\.id) == [0, 1])
        #expect(!acc.headIsReady(tp, now: start, flushing: true))
        #expect(acc.headIsReady(tp, now: start + .milliseconds(100), flushing: false))
    }

    @Test("an acknowledged batch's buffer is written into by the next batch, which encodes the same bytes as in a new buffer")
    func recycledBufferIsReused() throws {
        var acc = RecordAccumulator(batchSizeBytes: 4096, linger: .zero, deliveryTimeout: .seconds(60))
        _ = append(&acc, bytes: 3000)
        let first = acc.takeHead(tp)!
        _ = try first.encoded(compression: .none)
        let firstAddress = first.records.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        acc.recycle(first.takeStorage())
        #expect(first.sizeBytes == 0)
        #expect(acc.spareBuffers.count == 1)

        _ = append(&acc, bytes: 200)
        let second = acc.takeHead(tp)!
        #expect(acc.spareBuffers.isEmpty)
        #expect(second.records.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == firstAddress)
        var fresh = RecordAccumulator(batchSizeBytes: 4096, linger: .zero, deliveryTimeout: .seconds(60))
        _ = append(&fresh, bytes: 200)
        let reference = fresh.takeHead(tp)!
        #expect(try second.encoded(compression: .none) == reference.encoded(compression: .none))
    }

    @Test("at most four spare buffers are kept, and none larger than two batch sizes")
    func spareBuffersAreBounded() {
        var acc = RecordAccumulator(batchSizeBytes: 1000, linger: .zero, deliveryTimeout: .seconds(60))
        for _ in 0..<6 { acc.recycle(ByteBuffer(repeating: 0, count: 900)) }
        #expect(acc.spareBuffers.count == RecordAccumulator.spareBufferLimit)
        var big = RecordAccumulator(batchSizeBytes: 1000, linger: .zero, deliveryTimeout: .seconds(60))
        big.recycle(ByteBuffer(repeating: 0, count: 5000))
        #expect(big.spareBuffers.isEmpty)
    }

    @Test("expired batches are removed for failing")
    func expiry() {
        var acc = RecordAccumulator(batchSizeBytes: 100, linger: .seconds(1), deliveryTimeout: .seconds(2))
        _ = append(&acc, bytes: 10)
        #expect(acc.removeExpired(now: start + .seconds(1)).isEmpty)
        #expect(acc.removeExpired(now: start + .seconds(2)).count == 1)
        #expect(acc.isEmpty)
    }

    @Test("an encoded batch is a valid RecordBatch v2 with producer fields, in every codec")
    func encodedBatchRoundTrips() throws {
        for codec in CompressionCodec.allCases {
            var acc = RecordAccumulator(batchSizeBytes: 10_000, linger: .zero, deliveryTimeout: .seconds(60))
            _ = acc.append(to: tp, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v1"),
                           headers: [RecordHeader(key: "h", value: "x")], timestamp: 1000, memoryBytes: 40,
                           now: start, handler: .single { _ in })
            _ = acc.append(to: tp, key: nil, value: nil, headers: [], timestamp: 1003, memoryBytes: 40,
                           now: start, handler: .single { _ in })
            let batch = acc.takeHead(tp)!
            batch.producerID = 7
            batch.producerEpoch = 2
            batch.baseSequence = 40
            let bytes = try batch.encoded(compression: codec)
            let header = try #require(RecordBatchHeader.peek(bytes, at: bytes.readerIndex))
            #expect(RecordBatchHeader.crcMatches(bytes, at: bytes.readerIndex, header: header))
            #expect(header.compressionCodecID == codec.rawValue)
            #expect(header.producerID == 7 && header.producerEpoch == 2 && header.baseSequence == 40)
            #expect(header.recordsCount == 2 && header.maxTimestamp == 1003)
            let records = try RecordBatchHeader.records(of: bytes, maxUncompressedBytes: 1 << 20)
            #expect(records.map(\.key) == [ByteBuffer(string: "k"), nil])
            #expect(records.map(\.value) == [ByteBuffer(string: "v1"), nil])
            #expect(records[0].headers == [Record.Header(key: "h", value: ByteBuffer(string: "x"))])
            #expect(records[1].timestampDelta == 3)
        }
    }
}

@Suite("Producer batch record encoding")
struct ProducerBatchEncodingTests {
    @Test("records are encoded byte for byte as KafkaProtocol's Record.encode, for every field shape")
    func matchesRecordEncoder() {
        let start = ContinuousClock.now
        let batch = ProducerBatch(id: 0, topicPartition: TopicPartition(topic: "t", partition: 0), now: start,
                                  deliveryTimeout: .seconds(1))
        var expected = ByteBuffer()
        let cases: [(ByteBuffer?, ByteBuffer?, [RecordHeader], Int64)] = [
            (nil, nil, [], 1_700_000_000_000),
            (ByteBuffer(string: "k"), ByteBuffer(string: ""), [], 1_700_000_000_000),
            (ByteBuffer(repeating: 1, count: 200), ByteBuffer(repeating: 2, count: 70_000),
             [RecordHeader(key: "h", value: nil), RecordHeader(key: "ünï", value: "v")], 1_700_000_000_999),
            (nil, ByteBuffer(string: "earlier"), [], 1_699_999_000_000),
        ]
        for (index, (key, value, headers, timestamp)) in cases.enumerated() {
            batch.append(key: key, value: value, headers: headers, timestamp: timestamp, memoryBytes: 1, handler: .single { _ in })
            Record(timestampDelta: timestamp - 1_700_000_000_000, offsetDelta: Int32(index), key: key, value: value,
                   headers: headers.map { Record.Header(key: $0.key, value: $0.value) }).encode(to: &expected)
        }
        #expect(batch.records == expected)
        #expect(batch.count == 4)
    }
}

@Suite("Accumulator readiness scan")
struct ReadinessScanTests {
    @Test("one pass finds the ready heads and the next time one becomes ready")
    func readyPartitions() {
        let start = ContinuousClock.now
        var acc = RecordAccumulator(batchSizeBytes: 100, linger: .milliseconds(10), deliveryTimeout: .seconds(60))
        let a = TopicPartition(topic: "t", partition: 0)
        let b = TopicPartition(topic: "t", partition: 1)
        let c = TopicPartition(topic: "u", partition: 0)
        _ = acc.append(to: a, key: nil, value: ByteBuffer(repeating: 0, count: 10), headers: [], timestamp: 0,
                       memoryBytes: 40, now: start, handler: .single { _ in })
        _ = acc.append(to: b, key: nil, value: ByteBuffer(repeating: 0, count: 10), headers: [], timestamp: 0,
                       memoryBytes: 40, now: start + .milliseconds(4), handler: .single { _ in })
        _ = acc.append(to: c, key: nil, value: ByteBuffer(repeating: 0, count: 200), headers: [], timestamp: 0,
                       memoryBytes: 220, now: start + .milliseconds(6), handler: .single { _ in })
        let early = acc.readyPartitions(now: start + .milliseconds(7), flushing: false)
        #expect(early.ready == [c])          // full: ready at once
        #expect(early.next == start + .milliseconds(10))
        let later = acc.readyPartitions(now: start + .milliseconds(14), flushing: false)
        #expect(Set(later.ready) == [a, b, c])
        #expect(later.next == nil)
        #expect(Set(acc.readyPartitions(now: start, flushing: true).ready) == [a, b, c])
        #expect(acc.takeHead(a) != nil && acc.takeHead(a) == nil && acc.queues[a] == nil)
    }
}

@Suite("Splitting a batch the broker refused as too large")
struct BatchSplitTests {
    let tp = TopicPartition(topic: "t", partition: 0)
    let start = ContinuousClock.now

    @Test("a batch the broker found too large splits into two ordered halves that keep records, handlers, memory and the sequence range")
    func splitTooLargeBatch() throws {
        var acc = RecordAccumulator(batchSizeBytes: 100_000, linger: .seconds(10), deliveryTimeout: .seconds(60))
        for i in 0..<5 {
            let value = ByteBuffer(string: "value-\(i)")
            let headers = i == 2 ? [RecordHeader(key: "h", value: ByteBuffer(string: "x"))] : []
            let size = ProducerBatch.estimatedSize(key: nil, value: value, headers: headers)
            _ = acc.append(to: tp, key: i == 1 ? nil : ByteBuffer(string: "k\(i)"), value: value, headers: headers,
                           timestamp: 1000 + Int64(i), memoryBytes: size, now: start, handler: .single { _ in })
        }
        let later = ProducerBatch(id: 99, topicPartition: tp, now: start, deliveryTimeout: .seconds(60))
        let taken = acc.takeHead(tp)
        let batch = try #require(taken)
        batch.producerID = 4
        batch.producerEpoch = 1
        batch.baseSequence = 10
        let parts = batch.split()
        #expect(parts.map { $0.count } == [3, 2])
        #expect(parts.map { $0.baseSequence } == [10, 13])
        #expect(parts.allSatisfy { $0.producerID == 4 && $0.producerEpoch == 1 && $0.deadline == batch.deadline })
        #expect(parts[0].memoryBytes + parts[1].memoryBytes == batch.memoryBytes)
        #expect(parts[0].timestamps + parts[1].timestamps == batch.timestamps)
        // Both halves carry the records, re-based, byte for byte as one batch would.
        func decode(_ part: ProducerBatch) throws -> [Record] {
            var reader = KafkaReader(part.records, flexible: false)
            var out: [Record] = []
            while reader.remaining > 0 { out.append(try Record.decode(from: &reader)) }
            return out
        }
        let original = try decode(batch)
        let halves = try decode(parts[0]) + decode(parts[1])
        #expect(halves.map { $0.key } == original.map { $0.key })
        #expect(halves.map { $0.value } == original.map { $0.value })
        #expect(halves.map { $0.headers } == original.map { $0.headers })
        #expect(try decode(parts[1]).map { $0.offsetDelta } == [0, 1])
        #expect(parts[1].baseTimestamp == 1003)
        // Queue order: the halves come back in order, ahead of later batches, and a second split nests.
        acc.reenqueue(later)
        for part in parts.reversed() { acc.reenqueue(part) }
        #expect(acc.queues[tp]?.map { $0.count } == [3, 2, 0])
        let quarters = parts[0].split()
        #expect(quarters[0].precedes(quarters[1]) && quarters[1].precedes(parts[1]) && !parts[1].precedes(quarters[1]))
        #expect(quarters.map { $0.baseSequence } == [10, 12])
    }
}

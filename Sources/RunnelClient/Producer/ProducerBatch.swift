import KafkaProtocol
import NIOCore

/// Records for one partition that travel in one RecordBatch v2.
///
/// Records are encoded as they are appended, so ``sizeBytes`` is exact; the batch header,
/// compression and producer id/epoch/sequence are applied by ``encoded(compression:)`` when the
/// batch is sent (again on a retry, with the same sequence unless the epoch was bumped).
///
/// A class, so queues, request plans and retries pass a reference instead of copying a large
/// value. `@unchecked Sendable`: a batch is only read and changed on its ``Producer`` actor
/// (the request that carries its bytes is encoded there too).
final class ProducerBatch: @unchecked Sendable {
    /// Creation order within the producer; retries are re-queued in this order.
    let id: UInt64
    /// Where this batch sits among the parts of a batch that was split (MESSAGE_TOO_LARGE): empty
    /// for a batch as created, then the part index at each split. Orders parts after `id`.
    let splitPath: [UInt32]
    let topicPartition: TopicPartition
    let createdAt: ContinuousClock.Instant
    /// Records fail with ``ClientError/deliveryTimedOut(topic:partition:timeout:)`` after this.
    let deadline: ContinuousClock.Instant
    private(set) var records = ByteBuffer()
    private(set) var count: Int32 = 0
    private(set) var baseTimestamp: Int64 = 0
    private(set) var maxTimestamp: Int64 = 0
    /// Create time of each record, for ``RecordMetadata``.
    private(set) var timestamps: [Int64] = []
    private(set) var handlers: [DeliveryTarget] = []
    /// Buffer memory the records hold, released when the batch completes.
    private(set) var memoryBytes = 0
    /// No more records are appended (it was full, or it is being or has been sent).
    var isClosed = false
    var attempts = 0
    var retryAt: ContinuousClock.Instant?
    /// Idempotence fields of the last send; `baseSequence` -1 until a sequence is assigned.
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1

    init(id: UInt64, topicPartition: TopicPartition, now: ContinuousClock.Instant, deliveryTimeout: Duration) {
        self.id = id
        self.splitPath = []
        self.topicPartition = topicPartition
        self.createdAt = now
        self.deadline = now + deliveryTimeout
    }

    /// A part of a split batch: same partition, creation time and deadline.
    init(partOf batch: ProducerBatch, index: UInt32) {
        self.id = batch.id
        self.splitPath = batch.splitPath + [index]
        self.topicPartition = batch.topicPartition
        self.createdAt = batch.createdAt
        self.deadline = batch.deadline
    }

    /// Whether this batch was created (or split off) before `other`, so it must reach the broker first.
    func precedes(_ other: ProducerBatch) -> Bool {
        if id != other.id { return id < other.id }
        return splitPath.lexicographicallyPrecedes(other.splitPath)
    }

    /// Size of the batch on the wire before compression: header plus encoded records.
    var sizeBytes: Int { RecordBatchHeader.size + records.readableBytes }

    /// Bytes a record adds to a batch (an upper bound; varints are counted at their longest).
    static func estimatedSize(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) -> Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0) + 5
        for header in headers { size += 10 + header.key.utf8.count + (header.value?.readableBytes ?? 0) }
        return size
    }

    /// Appends a record at the next offset delta, encoded straight into the records buffer in the
    /// layout of KafkaProtocol's `Record.encode(to:)` (Kafka `DefaultRecord`), without the
    /// intermediate buffers a general encoder needs.
    func append(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], timestamp: Int64,
                         memoryBytes size: Int, handler: DeliveryTarget) {
        if count == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        }
        maxTimestamp = max(maxTimestamp, timestamp)
        Self.writeRecord(into: &records, timestampDelta: timestamp - baseTimestamp, offsetDelta: Int64(count),
                         key: key, value: value, headers: headers)
        count += 1
        timestamps.append(timestamp)
        handlers.append(handler)
        memoryBytes += size
    }

    /// One record in `DefaultRecord` layout. A single `inout` access to the buffer for the whole
    /// record keeps exclusivity checks and uniqueness checks to one per record.
    private static func writeRecord(into records: inout ByteBuffer, timestampDelta: Int64, offsetDelta: Int64,
                                    key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) {
        let timestampDelta = zigzag(timestampDelta)
        let offsetDelta = zigzag(offsetDelta)
        var bodySize = 1 + varintSize(timestampDelta) + varintSize(offsetDelta)
            + bytesFieldSize(key) + bytesFieldSize(value) + varintSize(zigzag(Int64(headers.count)))
        for header in headers {
            let keyLength = header.key.utf8.count
            bodySize += varintSize(zigzag(Int64(keyLength))) + keyLength + bytesFieldSize(header.value)
        }
        records.reserveCapacity(minimumWritableBytes: bodySize + 5)
        // length, attributes (unused, 0), timestamp delta, offset delta in one pass.
        writeVarints(zigzag(Int64(bodySize)), 0, timestampDelta, offsetDelta, to: &records)
        writeBytesField(key, to: &records)
        writeBytesField(value, to: &records)
        writeVarints(zigzag(Int64(headers.count)), to: &records)
        for header in headers {
            writeVarints(zigzag(Int64(header.key.utf8.count)), to: &records)
            records.writeString(header.key)
            writeBytesField(header.value, to: &records)
        }
    }

    private static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    private static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    private static func bytesFieldSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }  // varint -1
        return varintSize(zigzag(Int64(bytes.readableBytes))) + bytes.readableBytes
    }

    private static func writeBytesField(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard let bytes else {
            writeVarints(zigzag(-1), to: &buffer)
            return
        }
        writeVarints(zigzag(Int64(bytes.readableBytes)), to: &buffer)
        buffer.writeImmutableBuffer(bytes)
    }

    /// Writes unsigned varints (protocol guide: 7 bits per byte, high bit = more) with one
    /// buffer access instead of one per byte; the hot path of every produced record.
    private static func writeVarints(_ values: UInt64..., to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 10 * values.count) { raw in
            var index = 0
            for value in values {
                var v = value
                while v >= 0x80 {
                    raw[index] = UInt8(truncatingIfNeeded: v) | 0x80
                    v >>= 7
                    index += 1
                }
                raw[index] = UInt8(truncatingIfNeeded: v)
                index += 1
            }
            return index
        }
    }

    /// The whole RecordBatch v2, records compressed with `compression`, with this batch's
    /// producer id, epoch and base sequence.
    /// - Throws: a compression error from the codec.
    func encoded(compression: CompressionCodec) throws -> ByteBuffer {
        let body = try compression.compress(records)
        let header = RecordBatchHeader(
            baseOffset: 0, batchLength: 0, partitionLeaderEpoch: -1, magic: 2, crc: 0,
            attributes: compression.rawValue, lastOffsetDelta: count - 1, baseTimestamp: baseTimestamp,
            maxTimestamp: maxTimestamp, producerID: producerID, producerEpoch: producerEpoch,
            baseSequence: baseSequence, recordsCount: count)
        return RecordBatchHeader.encodeBatch(header, body: body)
    }

    /// Adjusts the buffer memory the batch holds (split parts settle rounding).
    func addMemory(_ bytes: Int) { memoryBytes += bytes }

    /// Calls every record's handler: metadata from `baseOffset` (or -1 for all when it is -1) and
    /// `logAppendTime` (-1 = use each record's create time), or `error`.
    func complete(baseOffset: Int64, logAppendTime: Int64) {
        for (index, handler) in handlers.enumerated() {
            let offset = baseOffset < 0 ? -1 : baseOffset + Int64(index)
            handler(.success(RecordMetadata(topic: topicPartition.topic, partition: topicPartition.partition,
                                            offset: offset, timestamp: logAppendTime >= 0 ? logAppendTime : timestamps[index])))
        }
    }

    func fail(_ error: any Error) {
        for handler in handlers { handler(.failure(error)) }
    }
}

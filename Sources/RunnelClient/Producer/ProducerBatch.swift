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
    // The hot fields skip Swift's dynamic exclusivity checks (`swift_beginAccess` per access, a
    // large share of the per-record cost): a batch is only touched on its producer's actor (see
    // above) and no code here holds overlapping accesses to them.
    /// The batch as it goes on the wire uncompressed: ``RecordBatchHeader/size`` bytes for the
    /// header (filled in by ``encoded(compression:)``), then the encoded records, so an
    /// uncompressed batch is sent without copying its records into a new buffer.
    @exclusivity(unchecked) private var storage = ProducerBatch.emptyStorage()
    @exclusivity(unchecked) private(set) var count: Int32 = 0
    @exclusivity(unchecked) private(set) var baseTimestamp: Int64 = 0
    @exclusivity(unchecked) private(set) var maxTimestamp: Int64 = 0
    /// Whom to tell about the records, in record order: consecutive records of one bulk send
    /// with the same create time share one entry (see ``DeliveryRun``).
    @exclusivity(unchecked) private(set) var runs: [DeliveryRun] = []
    /// Buffer memory the records hold, released when the batch completes.
    @exclusivity(unchecked) private(set) var memoryBytes = 0
    /// No more records are appended (it was full, or it is being or has been sent).
    @exclusivity(unchecked) var isClosed = false
    var attempts = 0
    var retryAt: ContinuousClock.Instant?
    /// Idempotence fields of the last send; `baseSequence` -1 until a sequence is assigned.
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1

    /// - Parameter spare: the records buffer of an acknowledged batch (``takeStorage()``) to write
    ///   into instead of a new one; its capacity is kept when nothing else references it.
    init(id: UInt64, topicPartition: TopicPartition, now: ContinuousClock.Instant, deliveryTimeout: Duration,
         spare: consuming ByteBuffer? = nil) {
        self.id = id
        self.splitPath = []
        self.topicPartition = topicPartition
        self.createdAt = now
        self.deadline = now + deliveryTimeout
        if var spare = spare.take() {
            spare.clear()
            spare.writeRepeatingByte(0, count: RecordBatchHeader.size)
            storage = spare
        }
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
    var sizeBytes: Int { storage.readableBytes }

    /// The encoded records (`DefaultRecord` layout), without the batch header.
    var records: ByteBuffer {
        storage.getSlice(at: storage.readerIndex + RecordBatchHeader.size,
                         length: storage.readableBytes - RecordBatchHeader.size)!
    }

    private static func emptyStorage() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(0, count: RecordBatchHeader.size)
        return buffer
    }

    /// Bytes a record adds to a batch (an upper bound; varints are counted at their longest).
    static func estimatedSize(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) -> Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0) + 5
        for header in headers { size += 10 + header.key.utf8.count + (header.value?.readableBytes ?? 0) }
        return size
    }

    /// Create time of each record, in record order.
    var timestamps: [Int64] { runs.flatMap { repeatElement($0.timestamp, count: $0.count) } }

    /// The delivery target of each record, in record order.
    var handlers: [DeliveryTarget] { runs.flatMap { run in (0..<run.count).map { run.target.advanced(by: $0) } } }

    /// Appends a record at the next offset delta, encoded straight into the records buffer in the
    /// layout of KafkaProtocol's `Record.encode(to:)` (Kafka `DefaultRecord`), without the
    /// intermediate buffers a general encoder needs.
    /// - Parameter call: identifies the bulk send the record comes from (0: none); consecutive
    ///   records of one call with the same timestamp share one ``DeliveryRun``.
    ///   `handler` is only evaluated for a record that starts a run; `index` is the record's index
    ///   in its bulk send (-1 for single sends).
    func append(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], timestamp: Int64,
                memoryBytes size: Int, handler: @autoclosure () -> DeliveryTarget, call: UInt64 = 0, index: Int = -1) {
        if count == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        Self.writeRecord(into: &storage, timestampDelta: timestamp - baseTimestamp, offsetDelta: Int64(count),
                         key: key, value: value, headers: headers)
        count += 1
        memoryBytes += size
        if call != 0, index >= 0, let last = runs.indices.last, runs[last].call == call, runs[last].timestamp == timestamp,
           runs[last].target.firstIndex + runs[last].count == index {
            runs[last].count += 1
        } else {
            runs.append(DeliveryRun(target: handler(), count: 1, timestamp: timestamp, call: call))
        }
    }

    /// One record in `DefaultRecord` layout, written with a single buffer access: varints and
    /// the key, value and header bytes go straight into the reserved space.
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
        let length = zigzag(Int64(bodySize))
        records.writeWithUnsafeMutableBytes(minimumWritableBytes: bodySize + varintSize(length)) { raw in
            let base = raw.baseAddress!
            var index = 0
            // length, attributes (unused, 0), timestamp delta, offset delta.
            putVarint(length, base, &index)
            base.storeBytes(of: 0 as UInt8, toByteOffset: index, as: UInt8.self)
            index += 1
            putVarint(timestampDelta, base, &index)
            putVarint(offsetDelta, base, &index)
            putBytesField(key, base, &index)
            putBytesField(value, base, &index)
            putVarint(zigzag(Int64(headers.count)), base, &index)
            for header in headers {
                var name = header.key
                name.withUTF8 { utf8 in
                    putVarint(zigzag(Int64(utf8.count)), base, &index)
                    if utf8.count > 0 { (base + index).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
                    index += utf8.count
                }
                putBytesField(header.value, base, &index)
            }
            return index
        }
    }

    @inline(__always)
    private static func putVarint(_ value: UInt64, _ base: UnsafeMutableRawPointer, _ index: inout Int) {
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: index, as: UInt8.self)
            v >>= 7
            index += 1
        }
        base.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: index, as: UInt8.self)
        index += 1
    }

    @inline(__always)
    private static func putBytesField(_ bytes: ByteBuffer?, _ base: UnsafeMutableRawPointer, _ index: inout Int) {
        guard let bytes else {
            putVarint(zigzag(-1), base, &index)
            return
        }
        let length = bytes.readableBytes
        putVarint(zigzag(Int64(length)), base, &index)
        if length > 0 {
            bytes.withUnsafeReadableBytes { (base + index).copyMemory(from: $0.baseAddress!, byteCount: length) }
            index += length
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

    /// The whole RecordBatch v2, records compressed with `compression`, with this batch's
    /// producer id, epoch and base sequence.
    /// - Throws: a compression error from the codec.
    func encoded(compression: CompressionCodec) throws -> ByteBuffer {
        let header = RecordBatchHeader(
            baseOffset: 0, batchLength: 0, partitionLeaderEpoch: -1, magic: 2, crc: 0,
            attributes: compression.rawValue, lastOffsetDelta: count - 1, baseTimestamp: baseTimestamp,
            maxTimestamp: maxTimestamp, producerID: producerID, producerEpoch: producerEpoch,
            baseSequence: baseSequence, recordsCount: count)
        guard compression == .none else {
            return RecordBatchHeader.encodeBatch(header, body: try compression.compress(records))
        }
        // Uncompressed: the header goes into the space reserved in front of the records, in
        // `RecordBatchHeader.encodeBatch`'s layout, and the CRC-32C covers attributes to the end.
        let start = storage.readerIndex
        storage.setInteger(header.baseOffset, at: start, endianness: .big)
        storage.setInteger(Int32(storage.readableBytes - RecordBatchHeader.logOverhead), at: start + 8, endianness: .big)
        storage.setInteger(header.partitionLeaderEpoch, at: start + 12, endianness: .big)
        storage.setInteger(Int8(2), at: start + 16)
        storage.setInteger(header.attributes, at: start + 21, endianness: .big)
        storage.setInteger(header.lastOffsetDelta, at: start + 23, endianness: .big)
        storage.setInteger(header.baseTimestamp, at: start + 27, endianness: .big)
        storage.setInteger(header.maxTimestamp, at: start + 35, endianness: .big)
        storage.setInteger(header.producerID, at: start + 43, endianness: .big)
        storage.setInteger(header.producerEpoch, at: start + 51, endianness: .big)
        storage.setInteger(header.baseSequence, at: start + 53, endianness: .big)
        storage.setInteger(header.recordsCount, at: start + 57, endianness: .big)
        let crc = storage.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        storage.setInteger(crc, at: start + 17, endianness: .big)
        assert(storage == RecordBatchHeader.encodeBatch(header, body: records), "batch \(id) header differs from encodeBatch")
        return storage
    }

    /// Takes the batch's buffer away for reuse by a later batch (see ``RecordAccumulator/recycle(_:)``),
    /// leaving the batch without records. Call only once the batch is acknowledged and its bytes
    /// are no longer needed for a retry.
    func takeStorage() -> ByteBuffer {
        let taken = storage
        storage = ByteBuffer()
        return taken
    }

    /// Adjusts the buffer memory the batch holds (split parts settle rounding).
    func addMemory(_ bytes: Int) { memoryBytes += bytes }

    /// Calls every record's handler: metadata from `baseOffset` (or -1 for all when it is -1) and
    /// `logAppendTime` (-1 = use each record's create time), or `error`.
    func complete(baseOffset: Int64, logAppendTime: Int64) {
        var position: Int64 = 0
        for run in runs {
            let offset = baseOffset < 0 ? -1 : baseOffset + position
            let metadata = RecordMetadata(topic: topicPartition.topic, partition: topicPartition.partition,
                                          offset: offset, timestamp: logAppendTime >= 0 ? logAppendTime : run.timestamp)
            run.target.deliver(.success(metadata), count: run.count, offsetsKnown: baseOffset >= 0)
            position += Int64(run.count)
        }
    }

    func fail(_ error: any Error) {
        for run in runs { run.target.deliver(.failure(error), count: run.count, offsetsKnown: false) }
    }
}

/// Consecutive records of a batch with one delivery target: one record of a single send, or a
/// run of consecutive records (by index) of one bulk send with the same create time.
struct DeliveryRun {
    /// The first record's target; the others' follow by index (``DeliveryTarget/advanced(by:)``).
    var target: DeliveryTarget
    var count: Int
    var timestamp: Int64
    /// The bulk send the records come from; 0 for single sends, which never share a run.
    var call: UInt64
}

import NIOCore

/// Builds an uncompressed RecordBatch v2 with a correct CRC-32C (Kafka `MemoryRecordsBuilder`).
///
/// Used by the broker for its own logs (the metadata log) and by tests and clients.
public struct RecordBatchBuilder: Sendable {
    public var baseOffset: Int64 = 0
    public var partitionLeaderEpoch: Int32 = -1
    /// Milliseconds since the epoch of the first record.
    public var baseTimestamp: Int64
    public var producerID: Int64 = -1
    public var producerEpoch: Int16 = -1
    public var baseSequence: Int32 = -1
    public var attributes: Int16 = 0
    private var records: [Record] = []
    private var maxTimestamp: Int64

    /// - Parameter baseTimestamp: milliseconds since the epoch for the first record.
    public init(baseTimestamp: Int64) {
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = baseTimestamp
    }

    /// Appends a record at the next offset delta.
    /// - Parameter timestamp: milliseconds since the epoch; must not be before `baseTimestamp`.
    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [Record.Header] = [], timestamp: Int64? = nil) {
        let ts = timestamp ?? baseTimestamp
        maxTimestamp = max(maxTimestamp, ts)
        records.append(Record(timestampDelta: ts - baseTimestamp, offsetDelta: Int32(records.count),
                              key: key, value: value, headers: headers))
    }

    public var count: Int { records.count }

    /// The finished batch bytes. Requires at least one record.
    public func build() -> ByteBuffer {
        precondition(!records.isEmpty, "a record batch needs at least one record")
        var body = ByteBuffer()
        for record in records { record.encode(to: &body) }
        let header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: attributes, lastOffsetDelta: Int32(records.count - 1), baseTimestamp: baseTimestamp,
            maxTimestamp: maxTimestamp, producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordsCount: Int32(records.count))
        return RecordBatchHeader.encodeBatch(header, body: body)
    }
}

extension RecordBatchHeader {
    /// Decodes the records of an uncompressed batch that starts at the reader index of `batch`.
    /// - Throws: ``ProtocolError`` for a compressed or malformed batch.
    public static func uncompressedRecords(of batch: ByteBuffer) throws -> [Record] {
        guard let header = peek(batch, at: batch.readerIndex) else { throw ProtocolError.invalid("not a magic-2 batch") }
        guard header.compressionCodecID == 0 else { throw ProtocolError.invalid("batch is compressed") }
        guard header.totalSize <= batch.readableBytes,
              let body = batch.getSlice(at: batch.readerIndex + size, length: header.totalSize - size)
        else { throw ProtocolError.truncated(field: "record batch") }
        var reader = KafkaReader(body, flexible: false)
        var out: [Record] = []
        for _ in 0..<max(0, Int(header.recordsCount)) { out.append(try Record.decode(from: &reader)) }
        return out
    }
}

extension RecordBatchHeader {
    /// Decodes the records of a batch that starts at the reader index of `batch`, decompressing
    /// the records section when attribute bits 0-2 name a codec.
    /// - Parameter maxUncompressedBytes: bound on the decompressed size, against compression bombs.
    /// - Throws: ``ProtocolError`` for malformed records; a compression error for bad compressed data.
    public static func records(of batch: ByteBuffer, maxUncompressedBytes: Int) throws -> [Record] {
        guard let header = peek(batch, at: batch.readerIndex) else { throw ProtocolError.invalid("not a magic-2 batch") }
        if header.compressionCodecID == 0 { return try uncompressedRecords(of: batch) }
        guard let codec = CompressionCodec(rawValue: header.compressionCodecID) else {
            throw ProtocolError.invalid("unknown compression codec \(header.compressionCodecID)")
        }
        guard header.totalSize <= batch.readableBytes,
              let compressed = batch.getSlice(at: batch.readerIndex + size, length: header.totalSize - size)
        else { throw ProtocolError.truncated(field: "record batch") }
        let body = try codec.decompress(compressed, maxOutputBytes: maxUncompressedBytes)
        var reader = KafkaReader(body, flexible: false)
        var out: [Record] = []
        for _ in 0..<max(0, Int(header.recordsCount)) { out.append(try Record.decode(from: &reader)) }
        return out
    }
}

import NIOCore

/// The fixed 61-byte header of a RecordBatch v2 (magic 2), read in place (Kafka `DefaultRecordBatch.java`).
///
/// Layout, big-endian: baseOffset int64 @0 · batchLength int32 @8 (bytes after this field) ·
/// partitionLeaderEpoch int32 @12 · magic int8 @16 · crc uint32 @17 (CRC-32C over bytes 21..end) ·
/// attributes int16 @21 · lastOffsetDelta int32 @23 · baseTimestamp int64 @27 · maxTimestamp int64 @35 ·
/// producerId int64 @43 · producerEpoch int16 @51 · baseSequence int32 @53 · recordsCount int32 @57.
/// baseOffset and partitionLeaderEpoch sit before the CRC-covered range, so a broker can assign
/// them without recomputing the CRC.
public struct RecordBatchHeader: Equatable, Sendable {
    /// Bytes in the fixed header.
    public static let size = 61
    /// Bytes of the header that precede the batchLength-counted region (baseOffset + batchLength).
    public static let logOverhead = 12
    /// Byte offsets of the fields inside a batch.
    public enum Field {
        public static let baseOffset = 0
        public static let batchLength = 8
        public static let partitionLeaderEpoch = 12
        public static let magic = 16
        public static let crc = 17
        public static let attributes = 21
        public static let lastOffsetDelta = 23
        public static let baseTimestamp = 27
        public static let maxTimestamp = 35
        public static let producerID = 43
        public static let producerEpoch = 51
        public static let baseSequence = 53
        public static let recordsCount = 57
    }

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    /// Milliseconds since the epoch of the first record (or the delete horizon when attribute bit 6 is set).
    public var baseTimestamp: Int64
    /// Milliseconds since the epoch: the largest record timestamp, or the append time for LogAppendTime.
    public var maxTimestamp: Int64
    public var producerID: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordsCount: Int32

    /// A header with every field given; `batchLength` and `crc` are recomputed by
    /// ``encodeBatch(_:body:)``, so callers building a batch may pass 0 for both.
    public init(baseOffset: Int64, batchLength: Int32, partitionLeaderEpoch: Int32, magic: Int8, crc: UInt32,
                attributes: Int16, lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64,
                producerID: Int64, producerEpoch: Int16, baseSequence: Int32, recordsCount: Int32) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordsCount = recordsCount
    }

    /// Size of the whole batch in bytes (`batchLength + 12`).
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    /// Offset of the last record in the batch.
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    /// Offset the next batch will start at.
    public var nextOffset: Int64 { lastOffset + 1 }
    /// The compression codec id from attribute bits 0-2 (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    public var compressionCodecID: Int16 { attributes & 0x7 }
    /// Attribute bit 3: timestamps are LogAppendTime rather than CreateTime.
    public var isLogAppendTime: Bool { attributes & 0x8 != 0 }
    /// Attribute bit 4.
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    /// Attribute bit 5: a transaction marker.
    public var isControl: Bool { attributes & 0x20 != 0 }

    /// Reads the header at absolute index `index` of `buffer` without moving the reader index.
    /// Returns `nil` if fewer than 61 bytes are there or magic is not 2.
    public static func peek(_ buffer: ByteBuffer, at index: Int) -> RecordBatchHeader? {
        guard index >= 0, buffer.writerIndex - index >= size,
              buffer.getInteger(at: index + Field.magic, as: Int8.self) == 2
        else { return nil }
        func i64(_ o: Int) -> Int64 { buffer.getInteger(at: index + o, endianness: .big, as: Int64.self)! }
        func i32(_ o: Int) -> Int32 { buffer.getInteger(at: index + o, endianness: .big, as: Int32.self)! }
        func i16(_ o: Int) -> Int16 { buffer.getInteger(at: index + o, endianness: .big, as: Int16.self)! }
        return RecordBatchHeader(
            baseOffset: i64(Field.baseOffset), batchLength: i32(Field.batchLength),
            partitionLeaderEpoch: i32(Field.partitionLeaderEpoch), magic: 2,
            crc: buffer.getInteger(at: index + Field.crc, endianness: .big, as: UInt32.self)!,
            attributes: i16(Field.attributes), lastOffsetDelta: i32(Field.lastOffsetDelta),
            baseTimestamp: i64(Field.baseTimestamp), maxTimestamp: i64(Field.maxTimestamp),
            producerID: i64(Field.producerID), producerEpoch: i16(Field.producerEpoch),
            baseSequence: i32(Field.baseSequence), recordsCount: i32(Field.recordsCount))
    }

    /// Whether the CRC stored in the batch at `index` matches CRC-32C over bytes 21..end.
    /// The whole batch (`totalSize` bytes) must be readable.
    public static func crcMatches(_ buffer: ByteBuffer, at index: Int, header: RecordBatchHeader) -> Bool {
        let start = index + Field.attributes
        let length = header.totalSize - Field.attributes
        guard length >= 0, start + length <= buffer.writerIndex else { return false }
        let computed = buffer.withUnsafeReadableBytes { raw -> UInt32 in
            let base = start - buffer.readerIndex
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[base..<(base + length)]))
        }
        return computed == header.crc
    }

    /// Overwrites baseOffset and partitionLeaderEpoch of the batch at `index`; the CRC stays valid.
    public static func assign(baseOffset: Int64, partitionLeaderEpoch: Int32, in buffer: inout ByteBuffer, at index: Int) {
        buffer.setInteger(baseOffset, at: index + Field.baseOffset, endianness: .big)
        buffer.setInteger(partitionLeaderEpoch, at: index + Field.partitionLeaderEpoch, endianness: .big)
    }
}

extension RecordBatchHeader {
    /// Reads the header at the start of `bytes` (at least 61 bytes, e.g. a memory-mapped segment)
    /// without copying; `nil` when too short or magic is not 2.
    public static func peek(raw bytes: UnsafeRawBufferPointer) -> RecordBatchHeader? {
        guard bytes.count >= size, bytes.load(fromByteOffset: Field.magic, as: Int8.self) == 2 else { return nil }
        func i64(_ o: Int) -> Int64 { Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int64.self)) }
        func i32(_ o: Int) -> Int32 { Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
        func i16(_ o: Int) -> Int16 { Int16(bigEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int16.self)) }
        return RecordBatchHeader(
            baseOffset: i64(Field.baseOffset), batchLength: i32(Field.batchLength),
            partitionLeaderEpoch: i32(Field.partitionLeaderEpoch), magic: 2,
            crc: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: Field.crc, as: UInt32.self)),
            attributes: i16(Field.attributes), lastOffsetDelta: i32(Field.lastOffsetDelta),
            baseTimestamp: i64(Field.baseTimestamp), maxTimestamp: i64(Field.maxTimestamp),
            producerID: i64(Field.producerID), producerEpoch: i16(Field.producerEpoch),
            baseSequence: i32(Field.baseSequence), recordsCount: i32(Field.recordsCount))
    }
}

extension ByteBuffer {
    /// Reads the whole record batch at the reader index (as a fetch or log read returns them,
    /// back to back) and moves past it.
    /// - Returns: its header and bytes; nil, reading nothing, when the rest is not a whole magic-2
    ///   batch (a read may end with a cut-off batch).
    public mutating func readRecordBatch() -> (header: RecordBatchHeader, batch: ByteBuffer)? {
        guard let header = RecordBatchHeader.peek(self, at: readerIndex), header.totalSize <= readableBytes,
              let batch = readSlice(length: header.totalSize) else { return nil }
        return (header, batch)
    }
}

import NIOCore

/// A record carried by a legacy message set, after wrappers are opened.
public struct LegacyRecord: Equatable, Sendable {
    /// Absolute offset as the set describes it (see ``LegacyMessageSet/decode(_:maxUncompressedBytes:)``).
    public var offset: Int64
    /// Milliseconds since the epoch, or ``LegacyMessage/noTimestamp`` (-1) for magic 0.
    public var timestamp: Int64
    /// The timestamp is the broker's append time (magic 1, attribute bit 3 of the message or of
    /// its wrapper).
    public var isLogAppendTime: Bool
    /// `nil` is null.
    public var key: ByteBuffer?
    /// `nil` is null.
    public var value: ByteBuffer?

    public init(offset: Int64, timestamp: Int64, isLogAppendTime: Bool = false, key: ByteBuffer?, value: ByteBuffer?) {
        self.offset = offset
        self.timestamp = timestamp
        self.isLogAppendTime = isLogAppendTime
        self.key = key
        self.value = value
    }
}

/// Legacy message sets, message formats v0 and v1 (magic 0 and 1): what Produce v0-2 carries and
/// Fetch v0-3 returns (Kafka protocol guide, "Message sets"; KIP-31 relative offsets and KIP-32
/// timestamps for magic 1). Kafka 3.x converted them to and from RecordBatch v2 on the broker;
/// KIP-896 removed them in Kafka 4.0. See ``LegacyMessage`` for the byte layout.
///
/// Compression wraps a whole inner message set in the value of one wrapper message whose
/// attributes name the codec (gzip, snappy in either framing, lz4) and whose key is null. In a
/// magic-0 wrapper the inner offsets are absolute; in magic 1 they are relative (0...n-1) and the
/// wrapper's offset is the absolute offset of the last inner message (KIP-31).
public enum LegacyMessageSet {
    /// A decoded message set.
    public struct Decoded: Equatable, Sendable {
        /// 0 or 1; every message of the set has it.
        public var magic: Int8
        /// The wrapper's codec, or `.none` for a set of plain messages.
        public var codec: CompressionCodec
        /// The messages, wrappers opened, in order.
        public var records: [LegacyRecord]
        /// Bytes of the largest top-level entry (offset and size included), which Kafka checks
        /// against `max.message.bytes`.
        public var largestEntryBytes: Int
    }

    /// Decodes a whole message set, opening compressed wrappers.
    ///
    /// Offsets: top-level messages and magic-0 inner messages keep their own; magic-1 inner
    /// messages get `wrapper offset - last inner offset + inner offset` (KIP-31). Timestamps: a
    /// magic-1 inner message takes its wrapper's when the wrapper is LogAppendTime, else its own;
    /// magic 0 has none (-1).
    ///
    /// - Parameters:
    ///   - bytes: the readable bytes are the set; it must end with a whole message.
    ///   - maxUncompressedBytes: bound on a wrapper's decompressed size, against compression bombs.
    /// - Returns: the records with the set's magic and codec.
    /// - Throws: ``RecordValidationError`` with CORRUPT_MESSAGE (cut-off entry, inconsistent
    ///   sizes, CRC-32 mismatch on any message, undecodable compressed value), INVALID_RECORD
    ///   (empty set, mixed magics, more than one top-level message beside a wrapper, a wrapper
    ///   without value or inner messages, nested compression, unknown codec) or
    ///   UNSUPPORTED_COMPRESSION_TYPE (zstd, which needs magic 2, KIP-110).
    public static func decode(_ bytes: ByteBuffer, maxUncompressedBytes: Int) throws -> Decoded {
        var input = bytes
        var messages: [LegacyMessage] = []
        var largest = 0
        while input.readableBytes > 0 {
            let before = input.readableBytes
            let message = try LegacyMessage.read(from: &input)
            largest = max(largest, before - input.readableBytes)
            if let first = messages.first, first.magic != message.magic {
                throw RecordValidationError(.invalidRecord, "message magic \(message.magic) differs from the first message's \(first.magic)")
            }
            messages.append(message)
        }
        guard let first = messages.first else {
            throw RecordValidationError(.invalidRecord, "the message set holds no messages")
        }
        let wrappers = messages.filter { $0.compressionCodecID != 0 }
        guard let wrapper = wrappers.first else {
            let records = messages.map {
                LegacyRecord(offset: $0.offset, timestamp: $0.timestamp, isLogAppendTime: $0.isLogAppendTime, key: $0.key, value: $0.value)
            }
            return Decoded(magic: first.magic, codec: .none, records: records, largestEntryBytes: largest)
        }
        guard messages.count == 1 else {
            throw RecordValidationError(.invalidRecord, "a compressed message set must be one wrapper message, got \(messages.count) messages")
        }
        let codec = try codec(of: wrapper)
        return Decoded(magic: wrapper.magic, codec: codec,
                       records: try innerRecords(of: wrapper, codec: codec, maxUncompressedBytes: maxUncompressedBytes),
                       largestEntryBytes: largest)
    }

    /// Encodes `records` as an uncompressed message set of `magic` 0 or 1, one message per record
    /// at its own (absolute) offset. Magic 0 drops timestamps; magic 1 keeps them and sets
    /// attribute bit 3 on LogAppendTime records.
    public static func encode(_ records: [LegacyRecord], magic: Int8) -> ByteBuffer {
        var out = ByteBuffer()
        for record in records { message(record, magic: magic).encode(to: &out) }
        return out
    }

    /// The message that carries `record` in a set of `magic`.
    static func message(_ record: LegacyRecord, magic: Int8) -> LegacyMessage {
        LegacyMessage(offset: record.offset, magic: magic, attributes: magic >= 1 && record.isLogAppendTime ? 0x8 : 0,
                      timestamp: record.timestamp, key: record.key, value: record.value)
    }

    private static func codec(of wrapper: LegacyMessage) throws -> CompressionCodec {
        let id = Int16(wrapper.compressionCodecID)
        if id == CompressionCodec.zstd.rawValue {
            throw RecordValidationError(.unsupportedCompressionType, "zstd needs message format v2 (Produce v7 or later, KIP-110); this is magic \(wrapper.magic)")
        }
        guard let codec = CompressionCodec(rawValue: id), codec != .none else {
            throw RecordValidationError(.invalidRecord, "unknown compression codec \(id) in the wrapper at offset \(wrapper.offset)")
        }
        return codec
    }

    private static func innerRecords(of wrapper: LegacyMessage, codec: CompressionCodec,
                                     maxUncompressedBytes: Int) throws -> [LegacyRecord] {
        guard let compressed = wrapper.value else {
            throw RecordValidationError(.invalidRecord, "the \(codec) wrapper at offset \(wrapper.offset) has a null value")
        }
        var inner: ByteBuffer
        do {
            inner = try codec.decompressLegacyValue(compressed, magic: wrapper.magic, maxOutputBytes: maxUncompressedBytes)
        } catch {
            throw RecordValidationError(.corruptMessage, "the \(codec) wrapper at offset \(wrapper.offset) does not decompress: \(error)")
        }
        var messages: [LegacyMessage] = []
        while inner.readableBytes > 0 {
            let message = try LegacyMessage.read(from: &inner)
            guard message.magic == wrapper.magic else {
                throw RecordValidationError(.invalidRecord, "inner message magic \(message.magic) differs from its wrapper's \(wrapper.magic)")
            }
            guard message.compressionCodecID == 0 else {
                throw RecordValidationError(.invalidRecord, "a compressed wrapper holds an inner message with a compression attribute set")
            }
            messages.append(message)
        }
        guard let last = messages.last else {
            throw RecordValidationError(.invalidRecord, "the \(codec) wrapper at offset \(wrapper.offset) holds no messages")
        }
        let relativeBase = wrapper.magic >= 1 ? wrapper.offset &- last.offset : 0
        return messages.map { message in
            LegacyRecord(offset: relativeBase &+ message.offset,
                         timestamp: wrapper.isLogAppendTime ? wrapper.timestamp : message.timestamp,
                         isLogAppendTime: wrapper.isLogAppendTime || message.isLogAppendTime,
                         key: message.key, value: message.value)
        }
    }
}

import NIOCore

/// One entry of a legacy message set: a message of format v0 (magic 0) or v1 (magic 1, KIP-31 and
/// KIP-32), with the offset and size that precede it in the set (Kafka protocol guide, "Message
/// sets"; Kafka `LegacyRecord.java`).
///
/// Layout, big-endian:
///
/// | bytes | field | notes |
/// |---|---|---|
/// | 8 | offset | int64; in a producer's set the broker ignores it |
/// | 4 | message size | int32, bytes of the message that follow (crc to the end of value) |
/// | 4 | crc | uint32, CRC-32 (IEEE, ``CRC32``) over magic to the end of value |
/// | 1 | magic | 0 or 1 |
/// | 1 | attributes | bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4); magic 1: bit 3 timestamp type (1 = LogAppendTime) |
/// | 8 | timestamp | int64 ms since the epoch; magic 1 only |
/// | 4 + n | key | int32 length, -1 = null |
/// | 4 + n | value | int32 length, -1 = null; a wrapper's value is a compressed inner message set |
///
/// A message set is such entries back to back, with no count. The fixed part of a message (crc
/// to the value length) is 14 bytes for magic 0 and 22 for magic 1; an entry adds 12 (offset and
/// size).
public struct LegacyMessage: Equatable, Sendable {
    /// Bytes before the message in a set: offset (8) and message size (4).
    public static let logOverhead = 12
    /// The `NO_TIMESTAMP` marker: magic-0 messages have no timestamp, and Kafka reports -1 for them.
    public static let noTimestamp: Int64 = -1

    /// The offset written before the message: absolute in magic 0 sets and top-level magic 1
    /// sets, relative (0...n-1) inside a magic-1 wrapper (KIP-31).
    public var offset: Int64
    /// 0 or 1.
    public var magic: Int8
    /// Bits 0-2 codec, bit 3 (magic 1) LogAppendTime.
    public var attributes: Int8
    /// Milliseconds since the epoch (magic 1); ``noTimestamp`` for magic 0.
    public var timestamp: Int64
    /// `nil` is null.
    public var key: ByteBuffer?
    /// `nil` is null; for a wrapper, the compressed inner message set.
    public var value: ByteBuffer?

    /// - Parameters:
    ///   - offset: see ``offset``.
    ///   - magic: 0 or 1.
    ///   - attributes: codec bits and, for magic 1, the timestamp type bit.
    ///   - timestamp: ms since the epoch; ignored (not written) for magic 0.
    public init(offset: Int64, magic: Int8, attributes: Int8 = 0, timestamp: Int64 = LegacyMessage.noTimestamp,
                key: ByteBuffer?, value: ByteBuffer?) {
        precondition(magic == 0 || magic == 1, "legacy messages have magic 0 or 1, not \(magic)")
        self.offset = offset
        self.magic = magic
        self.attributes = attributes
        self.timestamp = magic == 0 ? Self.noTimestamp : timestamp
        self.key = key
        self.value = value
    }

    /// Attribute bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4 (4, zstd, is not valid before magic 2).
    public var compressionCodecID: Int8 { attributes & 0x7 }
    /// Attribute bit 3 of a magic-1 message: the timestamp is the broker's append time.
    public var isLogAppendTime: Bool { magic >= 1 && attributes & 0x8 != 0 }

    /// The fixed bytes of a message (crc to the value length): 14 for magic 0, 22 for magic 1.
    public static func messageOverhead(magic: Int8) -> Int { magic == 0 ? 14 : 22 }

    /// Bytes of the whole entry: offset, size and message.
    public var sizeInBytes: Int {
        Self.logOverhead + Self.messageOverhead(magic: magic) + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
    }

    /// Appends the entry (offset, size, message) with its CRC-32 computed.
    public func encode(to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(offset, endianness: .big)
        buffer.writeInteger(Int32(sizeInBytes - Self.logOverhead), endianness: .big)
        buffer.writeInteger(UInt32(0), endianness: .big) // CRC, filled below
        buffer.writeInteger(magic)
        buffer.writeInteger(attributes)
        if magic >= 1 { buffer.writeInteger(timestamp, endianness: .big) }
        Self.writeBytes(key, to: &buffer)
        Self.writeBytes(value, to: &buffer)
        let crcStart = start + Self.logOverhead + 4
        let crc = buffer.withUnsafeReadableBytes { raw in
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[(crcStart - buffer.readerIndex)...]))
        }
        buffer.setInteger(crc, at: start + Self.logOverhead, endianness: .big)
    }

    /// Reads the entry at the reader index of `buffer` and moves past it. Key and value are
    /// slices of `buffer`, not copies.
    /// - Throws: ``RecordValidationError`` with CORRUPT_MESSAGE when the entry is cut off, its
    ///   sizes are inconsistent or its CRC-32 does not match, and INVALID_RECORD when the magic is
    ///   not 0 or 1.
    public static func read(from buffer: inout ByteBuffer) throws -> LegacyMessage {
        guard let offset = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int64.self),
              let size = buffer.getInteger(at: buffer.readerIndex + 8, endianness: .big, as: Int32.self)
        else {
            throw RecordValidationError(.corruptMessage, "message set ends inside an entry header (\(buffer.readableBytes) bytes left)")
        }
        guard size >= Int32(messageOverhead(magic: 0)) else {
            throw RecordValidationError(.corruptMessage, "message size \(size) at offset \(offset) is below the minimum of \(messageOverhead(magic: 0))")
        }
        guard Int(size) <= buffer.readableBytes - logOverhead else {
            throw RecordValidationError(.corruptMessage, "message of \(size) bytes at offset \(offset) runs past the message set (\(buffer.readableBytes - logOverhead) bytes left)")
        }
        buffer.moveReaderIndex(forwardBy: logOverhead)
        var message = buffer.readSlice(length: Int(size))!
        let storedCRC = message.readInteger(endianness: .big, as: UInt32.self)!
        guard CRC32.checksum(message) == storedCRC else {
            throw RecordValidationError(.corruptMessage, "CRC-32 mismatch in the message at offset \(offset)")
        }
        let magic = message.readInteger(as: Int8.self)!
        guard magic == 0 || magic == 1 else {
            throw RecordValidationError(.invalidRecord, "message at offset \(offset) has magic \(magic) inside a magic 0/1 message set")
        }
        guard Int(size) >= messageOverhead(magic: magic) else {
            throw RecordValidationError(.corruptMessage, "magic \(magic) message size \(size) at offset \(offset) is below its minimum of \(messageOverhead(magic: magic))")
        }
        let attributes = message.readInteger(as: Int8.self)!
        let timestamp = magic >= 1 ? message.readInteger(endianness: .big, as: Int64.self)! : noTimestamp
        let key = try readBytes(&message, "key", offset: offset)
        let value = try readBytes(&message, "value", offset: offset)
        guard message.readableBytes == 0 else {
            throw RecordValidationError(.corruptMessage, "message at offset \(offset) has \(message.readableBytes) bytes after its value")
        }
        return LegacyMessage(offset: offset, magic: magic, attributes: attributes, timestamp: timestamp, key: key, value: value)
    }

    private static func writeBytes(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard let bytes else { buffer.writeInteger(Int32(-1), endianness: .big); return }
        buffer.writeInteger(Int32(bytes.readableBytes), endianness: .big)
        buffer.writeImmutableBuffer(bytes)
    }

    private static func readBytes(_ message: inout ByteBuffer, _ field: String, offset: Int64) throws -> ByteBuffer? {
        guard let length = message.readInteger(endianness: .big, as: Int32.self) else {
            throw RecordValidationError(.corruptMessage, "message at offset \(offset) ends before its \(field) length")
        }
        if length == -1 { return nil }
        guard length >= 0, let bytes = message.readSlice(length: Int(length)) else {
            throw RecordValidationError(.corruptMessage, "\(field) length \(length) of the message at offset \(offset) is invalid for the \(message.readableBytes) bytes left")
        }
        return bytes
    }
}

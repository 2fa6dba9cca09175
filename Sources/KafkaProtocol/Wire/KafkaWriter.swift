import NIOCore

/// Writes Kafka wire primitives; the mirror of ``KafkaReader``.
///
/// `flexible` selects the compact (KIP-482) forms for strings, bytes and arrays.
public struct KafkaWriter {
    /// The bytes written so far (after ``splicedParts``, when byte fields are spliced).
    public var buffer: ByteBuffer
    /// Whether the message version being written uses the flexible encoding.
    public let flexible: Bool

    /// Byte fields (`bytes`, `records`) of at least this many bytes are spliced rather than copied
    /// into ``buffer``: see ``splicedParts``. nil (the default) copies every field.
    public let spliceBytesAtLeast: Int?
    /// With ``spliceBytesAtLeast``: what was written before ``buffer``, in order. Each spliced
    /// field closes the buffer written so far (ending with the field's length) and is appended
    /// as a part of its own, sharing its storage with the caller's buffer; writing goes on in a
    /// new ``buffer``. The encoding is `splicedParts` followed by `buffer`, as ``finishedParts()``
    /// returns it: sent with one gathering write, large record sets are not copied (a Fetch
    /// response, as Kafka's zero-copy `FileRecords` are sent). Record sets written with
    /// ``writeExternalRecords(_:)`` are parts of their own too.
    public private(set) var splicedParts: [Part] = []

    /// One piece of a spliced encoding.
    public enum Part: Sendable {
        /// Bytes in memory.
        case bytes(ByteBuffer)
        /// A record set that stays with its source (a file range) until it is sent.
        case external(ExternalRecords)

        /// The piece's length in bytes.
        public var byteCount: Int {
            switch self {
            case .bytes(let buffer): buffer.readableBytes
            case .external(let records): records.byteCount
            }
        }
    }

    /// - Parameters:
    ///   - buffer: where writing starts (the bytes already in it stay in front).
    ///   - flexible: whether the message version uses the flexible encoding (KIP-482).
    ///   - spliceBytesAtLeast: byte fields of this many bytes or more are spliced, not copied.
    public init(buffer: ByteBuffer = ByteBuffer(), flexible: Bool, spliceBytesAtLeast: Int? = nil) {
        self.buffer = buffer
        self.flexible = flexible
        self.spliceBytesAtLeast = spliceBytesAtLeast
    }

    /// The whole encoding: ``splicedParts`` then ``buffer``.
    public func finishedParts() -> [Part] {
        splicedParts + [.bytes(buffer)]
    }

    public mutating func writeInt8(_ v: Int8) { buffer.writeInteger(v) }
    public mutating func writeInt16(_ v: Int16) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeInt32(_ v: Int32) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeInt64(_ v: Int64) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeUInt32(_ v: UInt32) { buffer.writeInteger(v, endianness: .big) }
    /// A `float64`: an IEEE 754 double, big-endian.
    public mutating func writeFloat64(_ v: Double) { buffer.writeInteger(v.bitPattern, endianness: .big) }
    public mutating func writeBool(_ v: Bool) { buffer.writeInteger(v ? 1 : 0, as: Int8.self) }

    public mutating func writeUUID(_ v: UUIDBytes) {
        buffer.writeInteger(v.high, endianness: .big)
        buffer.writeInteger(v.low, endianness: .big)
    }

    public mutating func writeUnsignedVarint(_ v: UInt32) {
        buffer.writeUnsignedVarint(UInt64(v))
    }

    public mutating func writeVarint(_ v: Int32) {
        buffer.writeUnsignedVarint(UInt64(UInt32(bitPattern: (v << 1) ^ (v >> 31))))
    }

    public mutating func writeVarlong(_ v: Int64) {
        buffer.writeUnsignedVarint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    // MARK: Strings and bytes

    public mutating func writeNullableString(_ s: String?) {
        guard let s else {
            if flexible { writeUnsignedVarint(0) } else { writeInt16(-1) }
            return
        }
        let count = s.utf8.count
        if flexible { writeUnsignedVarint(UInt32(count + 1)) } else { writeInt16(Int16(count)) }
        buffer.writeString(s)
    }

    public mutating func writeString(_ s: String) { writeNullableString(s) }

    public mutating func writeNullableBytes(_ b: ByteBuffer?) {
        guard var b else {
            if flexible { writeUnsignedVarint(0) } else { writeInt32(-1) }
            return
        }
        if flexible { writeUnsignedVarint(UInt32(b.readableBytes + 1)) } else { writeInt32(Int32(b.readableBytes)) }
        if let spliceBytesAtLeast, b.readableBytes >= spliceBytesAtLeast {
            splice(.bytes(b))
        } else {
            buffer.writeBuffer(&b)
        }
    }

    public mutating func writeBytes(_ b: ByteBuffer) { writeNullableBytes(b) }

    /// Writes a `records` field whose bytes stay with their source: the length here, the bytes as
    /// a part of their own (``splicedParts``). Only a writer made with ``spliceBytesAtLeast``
    /// can do this; the parts must then be sent with ``finishedParts()``, never ``buffer`` alone.
    public mutating func writeExternalRecords(_ records: ExternalRecords) {
        precondition(spliceBytesAtLeast != nil, "external records need a splicing KafkaWriter")
        if flexible { writeUnsignedVarint(UInt32(records.byteCount + 1)) } else { writeInt32(Int32(records.byteCount)) }
        splice(.external(records))
    }

    /// Closes the buffer written so far as a part, adds `part` after it, and goes on in a new buffer.
    private mutating func splice(_ part: Part) {
        splicedParts.append(.bytes(buffer))
        splicedParts.append(part)
        buffer = ByteBuffer()
    }

    // MARK: Arrays

    public mutating func writeArrayCount(_ count: Int?) {
        guard let count else {
            if flexible { writeUnsignedVarint(0) } else { writeInt32(-1) }
            return
        }
        if flexible { writeUnsignedVarint(UInt32(count + 1)) } else { writeInt32(Int32(count)) }
    }

    public mutating func writeArray<T>(_ items: [T], _ element: (inout KafkaWriter, T) -> Void) {
        writeArrayCount(items.count)
        for item in items { element(&self, item) }
    }

    public mutating func writeNullableArray<T>(_ items: [T]?, _ element: (inout KafkaWriter, T) -> Void) {
        guard let items else { writeArrayCount(nil); return }
        writeArray(items, element)
    }

    // MARK: Tagged fields

    /// Writes a tag buffer when the encoding is flexible; does nothing otherwise.
    public mutating func writeTaggedFields(_ tagged: TaggedFields = TaggedFields()) {
        guard flexible else { return }
        writeUnsignedVarint(UInt32(tagged.fields.count))
        for (tag, value) in tagged.fields {
            writeUnsignedVarint(tag)
            writeUnsignedVarint(UInt32(value.readableBytes))
            var v = value
            buffer.writeBuffer(&v)
        }
    }
}

extension ByteBuffer {
    /// Appends `value` as an unsigned LEB128 varint.
    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        writeInteger(UInt8(truncatingIfNeeded: v))
    }
}

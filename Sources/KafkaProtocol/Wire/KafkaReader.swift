import NIOCore

/// Reads Kafka wire primitives from a complete message body (protocol guide, "Protocol Primitive Types").
///
/// `flexible` selects the KIP-482 encodings: when true, strings, bytes and arrays are read in their
/// compact form (unsigned-varint length + 1) and structs end in a tag buffer. Every read checks the
/// bytes left before it allocates, so a hostile count or length throws instead of allocating.
public struct KafkaReader {
    /// The unread bytes.
    public var buffer: ByteBuffer
    /// Whether the message version being read uses the flexible encoding.
    public let flexible: Bool

    public init(_ buffer: ByteBuffer, flexible: Bool) {
        self.buffer = buffer
        self.flexible = flexible
    }

    /// Bytes not yet consumed.
    public var remaining: Int { buffer.readableBytes }

    // MARK: Fixed-width integers

    public mutating func readInt8(_ field: String = "int8") throws -> Int8 {
        guard let v = buffer.readInteger(as: Int8.self) else { throw ProtocolError.truncated(field: field) }
        return v
    }

    public mutating func readInt16(_ field: String = "int16") throws -> Int16 {
        guard let v = buffer.readInteger(endianness: .big, as: Int16.self) else { throw ProtocolError.truncated(field: field) }
        return v
    }

    public mutating func readInt32(_ field: String = "int32") throws -> Int32 {
        guard let v = buffer.readInteger(endianness: .big, as: Int32.self) else { throw ProtocolError.truncated(field: field) }
        return v
    }

    public mutating func readInt64(_ field: String = "int64") throws -> Int64 {
        guard let v = buffer.readInteger(endianness: .big, as: Int64.self) else { throw ProtocolError.truncated(field: field) }
        return v
    }

    public mutating func readUInt32(_ field: String = "uint32") throws -> UInt32 {
        guard let v = buffer.readInteger(endianness: .big, as: UInt32.self) else { throw ProtocolError.truncated(field: field) }
        return v
    }

    /// A `float64`: an IEEE 754 double, big-endian (used by the client quota APIs).
    public mutating func readFloat64(_ field: String = "float64") throws -> Double {
        guard let bits = buffer.readInteger(endianness: .big, as: UInt64.self) else { throw ProtocolError.truncated(field: field) }
        return Double(bitPattern: bits)
    }

    public mutating func readBool(_ field: String = "bool") throws -> Bool {
        try readInt8(field) != 0
    }

    public mutating func readUUID(_ field: String = "uuid") throws -> UUIDBytes {
        guard let hi = buffer.readInteger(endianness: .big, as: UInt64.self),
              let lo = buffer.readInteger(endianness: .big, as: UInt64.self)
        else { throw ProtocolError.truncated(field: field) }
        return UUIDBytes(high: hi, low: lo)
    }

    // MARK: Varints

    /// An unsigned LEB128 varint of at most 5 bytes (no zigzag).
    public mutating func readUnsignedVarint(_ field: String = "unsigned_varint") throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw ProtocolError.truncated(field: field) }
            if shift == 28 && byte > 0x0F { throw ProtocolError.malformedVarint(field: field) }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A zigzag-encoded signed varint of at most 5 bytes (record fields).
    public mutating func readVarint(_ field: String = "varint") throws -> Int32 {
        let raw = try readUnsignedVarint(field)
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A zigzag-encoded signed varlong of at most 10 bytes (record fields).
    public mutating func readVarlong(_ field: String = "varlong") throws -> Int64 {
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw ProtocolError.truncated(field: field) }
            if shift == 63 && byte > 0x01 { throw ProtocolError.malformedVarint(field: field) }
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    // MARK: Lengths

    /// Reads a string/bytes length in the current encoding; `nil` means null.
    mutating func readLength(_ field: String, wide: Bool) throws -> Int? {
        let length: Int
        if flexible {
            let raw = try readUnsignedVarint(field)
            if raw == 0 { return nil }
            length = Int(raw) - 1
        } else if wide {
            let raw = try readInt32(field)
            if raw < 0 {
                guard raw == -1 else { throw ProtocolError.invalidLength(field: field, value: Int64(raw)) }
                return nil
            }
            length = Int(raw)
        } else {
            let raw = try readInt16(field)
            if raw < 0 {
                guard raw == -1 else { throw ProtocolError.invalidLength(field: field, value: Int64(raw)) }
                return nil
            }
            length = Int(raw)
        }
        guard length <= buffer.readableBytes else {
            throw ProtocolError.invalidLength(field: field, value: Int64(length))
        }
        return length
    }

    // MARK: Strings and bytes

    public mutating func readNullableString(_ field: String = "string") throws -> String? {
        guard let length = try readLength(field, wide: false) else { return nil }
        guard let s = buffer.readString(length: length) else { throw ProtocolError.truncated(field: field) }
        return s
    }

    public mutating func readString(_ field: String = "string") throws -> String {
        guard let s = try readNullableString(field) else { throw ProtocolError.unexpectedNull(field: field) }
        return s
    }

    public mutating func readNullableBytes(_ field: String = "bytes") throws -> ByteBuffer? {
        guard let length = try readLength(field, wide: true) else { return nil }
        guard let b = buffer.readSlice(length: length) else { throw ProtocolError.truncated(field: field) }
        return b
    }

    public mutating func readBytes(_ field: String = "bytes") throws -> ByteBuffer {
        guard let b = try readNullableBytes(field) else { throw ProtocolError.unexpectedNull(field: field) }
        return b
    }

    // MARK: Arrays

    public mutating func readNullableArray<T>(
        _ field: String = "array", _ element: (inout KafkaReader) throws -> T
    ) throws -> [T]? {
        let count: Int
        if flexible {
            let raw = try readUnsignedVarint(field)
            if raw == 0 { return nil }
            count = Int(raw) - 1
        } else {
            let raw = try readInt32(field)
            if raw < 0 {
                guard raw == -1 else { throw ProtocolError.invalidLength(field: field, value: Int64(raw)) }
                return nil
            }
            count = Int(raw)
        }
        // Every element takes at least one byte, so a count above the bytes left is a lie.
        guard count <= buffer.readableBytes else {
            throw ProtocolError.invalidLength(field: field, value: Int64(count))
        }
        var out: [T] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try element(&self)) }
        return out
    }

    public mutating func readArray<T>(
        _ field: String = "array", _ element: (inout KafkaReader) throws -> T
    ) throws -> [T] {
        guard let a = try readNullableArray(field, element) else { throw ProtocolError.unexpectedNull(field: field) }
        return a
    }

    // MARK: Tagged fields

    /// Reads a tag buffer when the encoding is flexible; returns an empty set otherwise.
    public mutating func readTaggedFields(_ field: String = "tagged_fields") throws -> TaggedFields {
        guard flexible else { return TaggedFields() }
        let count = try readUnsignedVarint(field)
        guard count <= buffer.readableBytes else {
            throw ProtocolError.invalidLength(field: field, value: Int64(count))
        }
        var fields: [(tag: UInt32, value: ByteBuffer)] = []
        var lastTag: Int64 = -1
        for _ in 0..<count {
            let tag = try readUnsignedVarint(field)
            guard Int64(tag) > lastTag else { throw ProtocolError.invalid("tags out of order in \(field)") }
            lastTag = Int64(tag)
            let size = Int(try readUnsignedVarint(field))
            guard let value = buffer.readSlice(length: size) else {
                throw ProtocolError.invalidLength(field: field, value: Int64(size))
            }
            fields.append((tag, value))
        }
        return TaggedFields(fields)
    }

    /// Throws if bytes are left; call after the last field of a top-level message.
    public func expectEnd() throws {
        if buffer.readableBytes > 0 { throw ProtocolError.trailingBytes(count: buffer.readableBytes) }
    }
}

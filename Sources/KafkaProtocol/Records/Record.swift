import NIOCore

/// One record inside a RecordBatch v2 (Kafka `DefaultRecord.java`).
///
/// Wire form: length varint · attributes int8 · timestampDelta varlong · offsetDelta varint ·
/// key (varint length, -1 = null) · value (varint length, -1 = null, a tombstone) ·
/// header count varint · headers (varint-length UTF-8 key, varint-length nullable value).
public struct Record: Equatable, Sendable {
    public struct Header: Equatable, Sendable {
        public var key: String
        public var value: ByteBuffer?
        public init(key: String, value: ByteBuffer?) {
            self.key = key
            self.value = value
        }
    }

    public var attributes: Int8
    /// Milliseconds after the batch's baseTimestamp.
    public var timestampDelta: Int64
    /// Position after the batch's baseOffset.
    public var offsetDelta: Int32
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [Header]

    public init(attributes: Int8 = 0, timestampDelta: Int64, offsetDelta: Int32,
                key: ByteBuffer?, value: ByteBuffer?, headers: [Header] = []) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Appends this record, length prefix included.
    public func encode(to buffer: inout ByteBuffer) {
        var body = KafkaWriter(flexible: false)
        body.writeInt8(attributes)
        body.writeVarlong(timestampDelta)
        body.writeVarint(offsetDelta)
        Self.writeVarBytes(key, to: &body)
        Self.writeVarBytes(value, to: &body)
        body.writeVarint(Int32(headers.count))
        for header in headers {
            body.writeVarint(Int32(header.key.utf8.count))
            body.buffer.writeString(header.key)
            Self.writeVarBytes(header.value, to: &body)
        }
        var out = KafkaWriter(buffer: buffer, flexible: false)
        out.writeVarint(Int32(body.buffer.readableBytes))
        buffer = out.buffer
        buffer.writeBuffer(&body.buffer)
    }

    /// Reads one record, length prefix included.
    /// - Throws: ``ProtocolError`` when a length is negative (other than -1 for null) or runs past the input.
    public static func decode(from reader: inout KafkaReader) throws -> Record {
        let length = Int(try reader.readVarint("record length"))
        guard length >= 0, length <= reader.remaining,
              let slice = reader.buffer.readSlice(length: length)
        else { throw ProtocolError.invalidLength(field: "record length", value: Int64(length)) }
        var r = KafkaReader(slice, flexible: false)
        let attributes = try r.readInt8("record attributes")
        let timestampDelta = try r.readVarlong("timestampDelta")
        let offsetDelta = try r.readVarint("offsetDelta")
        let key = try readVarBytes(&r, "record key")
        let value = try readVarBytes(&r, "record value")
        let headerCount = Int(try r.readVarint("header count"))
        guard headerCount >= 0, headerCount <= r.remaining else {
            throw ProtocolError.invalidLength(field: "header count", value: Int64(headerCount))
        }
        var headers: [Header] = []
        for _ in 0..<headerCount {
            guard let keyBytes = try readVarBytes(&r, "header key") else { throw ProtocolError.unexpectedNull(field: "header key") }
            var keyBuffer = keyBytes
            let headerKey = keyBuffer.readString(length: keyBuffer.readableBytes) ?? ""
            headers.append(Header(key: headerKey, value: try readVarBytes(&r, "header value")))
        }
        return Record(attributes: attributes, timestampDelta: timestampDelta, offsetDelta: offsetDelta,
                      key: key, value: value, headers: headers)
    }

    private static func writeVarBytes(_ bytes: ByteBuffer?, to writer: inout KafkaWriter) {
        guard var bytes else { writer.writeVarint(-1); return }
        writer.writeVarint(Int32(bytes.readableBytes))
        writer.buffer.writeBuffer(&bytes)
    }

    private static func readVarBytes(_ reader: inout KafkaReader, _ field: String) throws -> ByteBuffer? {
        let length = Int(try reader.readVarint(field))
        if length == -1 { return nil }
        guard length >= 0, let bytes = reader.buffer.readSlice(length: length) else {
            throw ProtocolError.invalidLength(field: field, value: Int64(length))
        }
        return bytes
    }
}

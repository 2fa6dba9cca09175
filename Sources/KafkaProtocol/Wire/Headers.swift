import NIOCore

/// A request header (Kafka `RequestHeader.json`): v1 for non-flexible requests, v2 for flexible ones.
///
/// `clientID` stays an int16-length nullable string even in v2 (it is not compact); v2 adds a tag buffer.
/// A null client id is kept as `nil` so that re-encoding gives back the same bytes.
public struct RequestHeader: Equatable, Sendable {
    public var apiKey: ApiKey
    public var apiVersion: Int16
    public var correlationID: Int32
    public var clientID: String?
    public var taggedFields: TaggedFields

    public init(apiKey: ApiKey, apiVersion: Int16, correlationID: Int32, clientID: String?,
                taggedFields: TaggedFields = TaggedFields()) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationID = correlationID
        self.clientID = clientID
        self.taggedFields = taggedFields
    }

    /// Reads only api key, version and correlation id, which every header version starts with.
    /// Used to answer a request whose body cannot be parsed. Returns `nil` on short input.
    public static func peekPrefix(_ buffer: ByteBuffer) -> (apiKey: ApiKey, apiVersion: Int16, correlationID: Int32)? {
        guard let key = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int16.self),
              let version = buffer.getInteger(at: buffer.readerIndex + 2, endianness: .big, as: Int16.self),
              let correlation = buffer.getInteger(at: buffer.readerIndex + 4, endianness: .big, as: Int32.self)
        else { return nil }
        return (ApiKey(rawValue: key), version, correlation)
    }

    /// Decodes a header from the start of `buffer` and advances past it.
    ///
    /// The header version is chosen from the API key and version; for a key Runnel does not know the
    /// header is read as v1.
    /// - Throws: ``ProtocolError`` on short or malformed input.
    public static func decode(from buffer: inout ByteBuffer) throws -> RequestHeader {
        var reader = KafkaReader(buffer, flexible: false)
        let key = ApiKey(rawValue: try reader.readInt16("api_key"))
        let version = try reader.readInt16("api_version")
        let correlation = try reader.readInt32("correlation_id")
        let clientID = try reader.readNullableString("client_id")
        var tagged = TaggedFields()
        if key.requestHeaderVersion(version) >= 2 {
            var flexibleReader = KafkaReader(reader.buffer, flexible: true)
            tagged = try flexibleReader.readTaggedFields("header tagged fields")
            reader = KafkaReader(flexibleReader.buffer, flexible: false)
        }
        buffer = reader.buffer
        return RequestHeader(apiKey: key, apiVersion: version, correlationID: correlation,
                             clientID: clientID, taggedFields: tagged)
    }

    /// Appends this header in the version that its API key and version call for.
    public func encode(to buffer: inout ByteBuffer) {
        var writer = KafkaWriter(buffer: buffer, flexible: false)
        writer.writeInt16(apiKey.rawValue)
        writer.writeInt16(apiVersion)
        writer.writeInt32(correlationID)
        writer.writeNullableString(clientID)
        buffer = writer.buffer
        if apiKey.requestHeaderVersion(apiVersion) >= 2 {
            var flexibleWriter = KafkaWriter(buffer: buffer, flexible: true)
            flexibleWriter.writeTaggedFields(taggedFields)
            buffer = flexibleWriter.buffer
        }
    }
}

/// A response header (Kafka `ResponseHeader.json`): v0 = correlation id; v1 adds a tag buffer.
public struct ResponseHeader: Equatable, Sendable {
    public var correlationID: Int32

    public init(correlationID: Int32) { self.correlationID = correlationID }

    /// Appends the header in `version` (0 or 1); see ``ApiKey/responseHeaderVersion(_:)``.
    public func encode(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(correlationID, endianness: .big)
        if version >= 1 { buffer.writeInteger(UInt8(0)) }
    }

    /// Reads a header of `version` from the start of `buffer`.
    public static func decode(from buffer: inout ByteBuffer, version: Int16) throws -> ResponseHeader {
        var reader = KafkaReader(buffer, flexible: version >= 1)
        let correlation = try reader.readInt32("correlation_id")
        if version >= 1 { _ = try reader.readTaggedFields() }
        buffer = reader.buffer
        return ResponseHeader(correlationID: correlation)
    }
}

/// A message body that Runnel can encode and decode in every version it implements.
public protocol KafkaMessage: Sendable {
    /// Reads the body of `version`. The reader's `flexible` flag must match the version.
    /// - Throws: ``ProtocolError`` on malformed input.
    init(from reader: inout KafkaReader, version: Int16) throws
    /// Writes the body of `version`. The writer's `flexible` flag must match the version.
    func encode(to writer: inout KafkaWriter, version: Int16)
}

/// A request body, tied to its API key.
public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaMessage
    static var apiKey: ApiKey { get }
}

extension KafkaMessage {
    /// Decodes a body of `version` for `apiKey`.
    ///
    /// Bytes after the last field are ignored, as Kafka's generated parsers do: librdkafka's
    /// "all topics" Metadata v9+ request carries three stray bytes (its four-byte array-count
    /// placeholder is never shrunk to the one-byte compact null), and Kafka accepts it.
    /// Use ``KafkaReader/expectEnd()`` where exactness matters (tests).
    public static func decode(_ buffer: ByteBuffer, apiKey: ApiKey, version: Int16) throws -> Self {
        var reader = KafkaReader(buffer, flexible: apiKey.isFlexible(version))
        return try Self(from: &reader, version: version)
    }

    /// Encodes the body of `version` for `apiKey` into a new buffer.
    public func encoded(apiKey: ApiKey, version: Int16) -> ByteBuffer {
        var writer = KafkaWriter(flexible: apiKey.isFlexible(version))
        encode(to: &writer, version: version)
        return writer.buffer
    }
}

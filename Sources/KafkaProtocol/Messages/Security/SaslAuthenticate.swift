import NIOCore

/// SaslAuthenticate request (key 36), versions 0-2, flexible from 2 (KIP-152): one SASL token
/// from the client, after a SaslHandshake v1.
public struct SaslAuthenticateRequest: KafkaRequest, Equatable {
    public typealias Response = SaslAuthenticateResponse
    public static let apiKey = ApiKey.saslAuthenticate

    /// The mechanism's client message (RFC 4616 for PLAIN, RFC 5802 for SCRAM).
    public var authBytes: ByteBuffer
    public var taggedFields = TaggedFields()

    public init(authBytes: ByteBuffer) {
        self.authBytes = authBytes
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        authBytes = try reader.readBytes("auth_bytes")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeBytes(authBytes)
        writer.writeTaggedFields(taggedFields)
    }
}

/// SaslAuthenticate response (key 36), versions 0-2, flexible from 2: the mechanism's server
/// message, or SASL_AUTHENTICATION_FAILED / ILLEGAL_SASL_STATE with a message.
public struct SaslAuthenticateResponse: KafkaMessage, Equatable {
    public var errorCode: ErrorCode
    public var errorMessage: String?
    /// The mechanism's server message (empty for PLAIN).
    public var authBytes: ByteBuffer
    /// v1+ (KIP-368): milliseconds after which the client must re-authenticate; 0 = never.
    public var sessionLifetimeMs: Int64
    public var taggedFields = TaggedFields()

    public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, authBytes: ByteBuffer = ByteBuffer(),
                sessionLifetimeMs: Int64 = 0) {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.authBytes = authBytes
        self.sessionLifetimeMs = sessionLifetimeMs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        errorMessage = try reader.readNullableString("error_message")
        authBytes = try reader.readBytes("auth_bytes")
        if version >= 1 { sessionLifetimeMs = try reader.readInt64("session_lifetime_ms") } else { sessionLifetimeMs = 0 }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt16(errorCode.rawValue)
        writer.writeNullableString(errorMessage)
        writer.writeBytes(authBytes)
        if version >= 1 { writer.writeInt64(sessionLifetimeMs) }
        writer.writeTaggedFields(taggedFields)
    }
}

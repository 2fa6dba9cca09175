/// SaslHandshake request (key 17), versions 0-1, never flexible (KIP-43, KIP-152): the client
/// names the SASL mechanism it wants. With v0 the SASL tokens then follow as raw size-prefixed
/// frames; with v1 they travel in ``SaslAuthenticateRequest``s.
public struct SaslHandshakeRequest: KafkaRequest, Equatable {
    public typealias Response = SaslHandshakeResponse
    public static let apiKey = ApiKey.saslHandshake

    /// The mechanism's IANA name (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`).
    public var mechanism: String

    public init(mechanism: String) {
        self.mechanism = mechanism
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        mechanism = try reader.readString("mechanism")
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeString(mechanism)
    }
}

/// SaslHandshake response (key 17), versions 0-1: an error (UNSUPPORTED_SASL_MECHANISM when the
/// mechanism is not enabled, ILLEGAL_SASL_STATE out of turn) and the mechanisms the listener has
/// enabled.
public struct SaslHandshakeResponse: KafkaMessage, Equatable {
    public var errorCode: ErrorCode
    /// The mechanisms enabled on the listener, in `sasl.enabled.mechanisms` order.
    public var mechanisms: [String]

    public init(errorCode: ErrorCode = .none, mechanisms: [String]) {
        self.errorCode = errorCode
        self.mechanisms = mechanisms
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        mechanisms = try reader.readArray("mechanisms") { try $0.readString("mechanism") }
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt16(errorCode.rawValue)
        writer.writeArray(mechanisms) { $0.writeString($1) }
    }
}

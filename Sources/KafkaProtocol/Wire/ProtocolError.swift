/// A decoding failure: the bytes are not a valid message of the expected shape.
///
/// Every decoder in `KafkaProtocol` throws this instead of trapping, so a
/// malformed request can close one connection without harming others.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before the field named in `field` was complete.
    case truncated(field: String)
    /// A length or count was negative (and not the null marker) or larger than the bytes left.
    case invalidLength(field: String, value: Int64)
    /// A varint ran past its maximum width (5 bytes for 32 bits, 10 for 64 bits).
    case malformedVarint(field: String)
    /// A string was not valid UTF-8.
    case invalidUTF8(field: String)
    /// A non-nullable field held the null marker.
    case unexpectedNull(field: String)
    /// Bytes were left over after the whole message was read.
    case trailingBytes(count: Int)
    /// The API key is not one Runnel knows.
    case unknownAPIKey(Int16)
    /// The version is outside what Runnel implements for this API.
    case unsupportedVersion(apiKey: Int16, version: Int16)
    /// Any other rule of the format was broken; `reason` says which.
    case invalid(String)

    public var description: String {
        switch self {
        case .truncated(let field): return "truncated input while reading \(field)"
        case .invalidLength(let field, let value): return "invalid length \(value) for \(field)"
        case .malformedVarint(let field): return "malformed varint in \(field)"
        case .invalidUTF8(let field): return "invalid UTF-8 in \(field)"
        case .unexpectedNull(let field): return "unexpected null for \(field)"
        case .trailingBytes(let count): return "\(count) unexpected trailing bytes"
        case .unknownAPIKey(let key): return "unknown API key \(key)"
        case .unsupportedVersion(let key, let version): return "unsupported version \(version) of API key \(key)"
        case .invalid(let reason): return reason
        }
    }
}

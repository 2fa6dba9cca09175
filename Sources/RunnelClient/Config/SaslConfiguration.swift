/// SASL credentials for `SASL_PLAINTEXT` / `SASL_SSL` connections (KIP-43, KIP-152), with Kafka's
/// client property names `sasl.mechanism`, `sasl.username`, `sasl.password` (librdkafka's).
public struct SaslConfiguration: Sendable, Equatable {
    /// A SASL mechanism the client can use.
    public enum Mechanism: String, Sendable, Equatable, CaseIterable {
        /// RFC 4616: the password crosses the connection; use it over TLS (SASL_SSL).
        case plain = "PLAIN"
        /// RFC 7677: challenge-response; the password never crosses the connection.
        case scramSHA256 = "SCRAM-SHA-256"
        /// SCRAM with SHA-512 (Kafka's `SCRAM-SHA-512`).
        case scramSHA512 = "SCRAM-SHA-512"
    }

    public var mechanism: Mechanism
    public var username: String
    public var password: String

    public init(mechanism: Mechanism, username: String, password: String) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
    }
}

extension SaslConfiguration {
    /// Reads `security.protocol` and, for `SASL_PLAINTEXT` / `SASL_SSL`, `sasl.mechanism`
    /// (librdkafka: `sasl.mechanisms`; default `PLAIN` as Java's `GSSAPI` is not supported),
    /// `sasl.username` and `sasl.password`.
    /// - Returns: nil for `PLAINTEXT` and `SSL` (no SASL).
    /// - Throws: ``ClientError/invalidConfiguration(property:value:reason:)`` for an unknown
    ///   protocol or mechanism, or missing credentials.
    static func read(from reader: inout PropertyReader) throws -> SaslConfiguration? {
        let protocolText = reader.string("security.protocol")?.trimmedWhitespace.uppercased() ?? "PLAINTEXT"
        let mechanismText = reader.string("sasl.mechanism") ?? reader.string("sasl.mechanisms")
        let username = reader.string("sasl.username")
        let password = reader.string("sasl.password")
        switch protocolText {
        case "PLAINTEXT", "SSL":
            return nil
        case "SASL_PLAINTEXT", "SASL_SSL":
            break
        default:
            throw ClientError.invalidConfiguration(property: "security.protocol", value: protocolText,
                                                   reason: "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        }
        let name = mechanismText?.trimmedWhitespace.uppercased() ?? "PLAIN"
        guard let mechanism = Mechanism(rawValue: name) else {
            throw ClientError.invalidConfiguration(property: "sasl.mechanism", value: name,
                                                   reason: "expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        }
        guard let username, !username.isEmpty else {
            throw ClientError.invalidConfiguration(property: "sasl.username", value: "", reason: "required with security.protocol=\(protocolText)")
        }
        guard let password else {
            throw ClientError.invalidConfiguration(property: "sasl.password", value: "", reason: "required with security.protocol=\(protocolText)")
        }
        return SaslConfiguration(mechanism: mechanism, username: username, password: password)
    }
}

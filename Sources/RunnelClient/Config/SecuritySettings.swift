/// How a client talks to brokers (`security.protocol`), with Kafka's names.
public enum SecurityProtocol: String, Sendable, Equatable, CaseIterable {
    /// Plain TCP.
    case plaintext = "PLAINTEXT"
    /// TLS, configured by ``TLSSettings``.
    case ssl = "SSL"
    /// SASL over plain TCP (KIP-152), configured by ``SaslConfiguration``.
    case saslPlaintext = "SASL_PLAINTEXT"
    /// SASL over TLS: the TLS handshake first, then SASL inside the TLS session.
    case saslSSL = "SASL_SSL"

    /// Whether connections start with a TLS handshake.
    public var usesTLS: Bool { self == .ssl || self == .saslSSL }
}

/// TLS settings of a client, from librdkafka's PEM-file property names (`ssl.ca.location`,
/// `ssl.certificate.location`, `ssl.key.location`, `ssl.key.password`) or the Java client's PEM
/// key and trust stores (`ssl.truststore.location`, `ssl.keystore.location` with
/// `ssl.*store.type=PEM`, KIP-651), and `ssl.endpoint.identification.algorithm`.
public struct TLSSettings: Sendable, Equatable {
    /// PEM file of CA certificates the broker's certificate must chain to; nil uses the system's
    /// trust roots.
    public var caLocation: String?
    /// PEM file of the client certificate chain (leaf first), for brokers with `ssl.client.auth`.
    public var certificateLocation: String?
    /// PEM file of the client's private key (may be the same file as the certificate).
    public var keyLocation: String?
    /// Password of an encrypted private key.
    public var keyPassword: String?
    /// Check that the broker's certificate names the host connected to (RFC 6125), as Kafka
    /// clients do by default (`ssl.endpoint.identification.algorithm=https`); `none` or empty
    /// turns it off (the chain is still verified).
    public var verifiesHostname: Bool = true

    public init(caLocation: String? = nil, certificateLocation: String? = nil, keyLocation: String? = nil,
                keyPassword: String? = nil, verifiesHostname: Bool = true) {
        self.caLocation = caLocation
        self.certificateLocation = certificateLocation
        self.keyLocation = keyLocation
        self.keyPassword = keyPassword
        self.verifiesHostname = verifiesHostname
    }
}

extension ClientConfiguration {
    /// Reads `security.protocol` and the `ssl.*` properties. SASL properties (`sasl.*`) are read
    /// by ``SaslConfiguration``.
    mutating func readSecurity(_ reader: inout PropertyReader) throws {
        if let v = try reader.oneOf("security.protocol", Dictionary(uniqueKeysWithValues: SecurityProtocol.allCases.map { ($0.rawValue.lowercased(), $0) })) {
            securityProtocol = v
        }
        for storeType in ["ssl.truststore.type", "ssl.keystore.type"] {
            if let type = reader.string(storeType), type.trimmedWhitespace.uppercased() != "PEM" {
                throw ClientError.invalidConfiguration(property: storeType, value: type, reason: "only PEM files are supported")
            }
        }
        if let v = reader.string("ssl.ca.location") ?? reader.string("ssl.truststore.location") { tls.caLocation = v }
        if let keystore = reader.string("ssl.keystore.location") {
            tls.certificateLocation = keystore
            tls.keyLocation = keystore
        }
        if let v = reader.string("ssl.certificate.location") { tls.certificateLocation = v }
        if let v = reader.string("ssl.key.location") { tls.keyLocation = v }
        if let v = reader.string("ssl.key.password") { tls.keyPassword = v }
        if let text = reader.string("ssl.endpoint.identification.algorithm") {
            switch text.trimmedWhitespace.lowercased() {
            case "https": tls.verifiesHostname = true
            case "", "none": tls.verifiesHostname = false
            default:
                throw ClientError.invalidConfiguration(property: "ssl.endpoint.identification.algorithm", value: text,
                                                       reason: "expected https, none or empty")
            }
        }
        if (tls.certificateLocation == nil) != (tls.keyLocation == nil) {
            throw ClientError.invalidConfiguration(property: tls.keyLocation == nil ? "ssl.key.location" : "ssl.certificate.location",
                                                   value: "", reason: "a client certificate needs both ssl.certificate.location and ssl.key.location")
        }
        reader.ignore(["ssl.protocol", "ssl.enabled.protocols"])
    }
}

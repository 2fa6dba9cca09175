/// A listener's security protocol (Kafka's `SecurityProtocol`), with the id Kafka writes for it
/// in BrokerRegistration requests and RegisterBrokerRecord endpoints.
public enum ListenerSecurityProtocol: String, Sendable, CaseIterable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSSL = "SASL_SSL"

    /// Kafka's id: PLAINTEXT 0, SSL 1, SASL_PLAINTEXT 2, SASL_SSL 3.
    public var id: Int16 {
        switch self {
        case .plaintext: return 0
        case .ssl: return 1
        case .saslPlaintext: return 2
        case .saslSSL: return 3
        }
    }

    /// Whether connections run TLS first (SSL, SASL_SSL).
    public var usesTLS: Bool { self == .ssl || self == .saslSSL }
    /// Whether connections authenticate with SASL (SASL_PLAINTEXT, SASL_SSL; KIP-152).
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
}

extension Listener {
    /// The listener's security protocol; ``Listener/parse(_:key:protocolMap:)`` admits only
    /// Kafka's four, so this is never nil for a parsed listener.
    public var security: ListenerSecurityProtocol { ListenerSecurityProtocol(rawValue: securityProtocol) ?? .plaintext }
    /// Whether this listener wraps its connections in TLS (`SSL`, `SASL_SSL`).
    public var usesTLS: Bool { security.usesTLS }
    /// Whether this listener authenticates its connections with SASL (`SASL_PLAINTEXT`, `SASL_SSL`).
    public var usesSASL: Bool { security.usesSASL }
}

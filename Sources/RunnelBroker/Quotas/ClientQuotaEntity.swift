import KafkaProtocol

/// A client quota entity (KIP-55): a user, a client id, or a user with a client id, each either
/// named or the default entity of its type (`<default>`, a null name on the wire).
struct ClientQuotaEntity: Hashable, Sendable, CustomStringConvertible {
    /// A name in an entity, or the type's default.
    enum Name: Hashable, Sendable {
        case defaultEntity
        case named(String)

        init(_ wire: String?) { self = wire.map(Name.named) ?? .defaultEntity }

        var wire: String? {
            if case .named(let name) = self { return name }
            return nil
        }
    }

    static let userType = "user"
    static let clientIDType = "client-id"

    var user: Name?
    var clientID: Name?

    /// The components in Kafka's order (user, then client-id), as DescribeClientQuotas lists them.
    var components: [ClientQuotaEntityComponent] {
        var out: [ClientQuotaEntityComponent] = []
        if let user { out.append(.init(entityType: Self.userType, entityName: user.wire)) }
        if let clientID { out.append(.init(entityType: Self.clientIDType, entityName: clientID.wire)) }
        return out
    }

    var description: String {
        components.map { "\($0.entityType)=\($0.entityName ?? "<default>")" }.joined(separator: ",")
    }

    /// Builds an entity from its wire components.
    /// - Throws: ``ConfigChangeError`` INVALID_REQUEST for no component, a type named twice, an
    ///   empty name, or a type other than `user` and `client-id` (Runnel does not support `ip`
    ///   entities, which carry KIP-612 connection-rate quotas).
    init(components: [ClientQuotaEntityComponent]) throws {
        guard !components.isEmpty else { throw ConfigChangeError(code: .invalidRequest, message: "Invalid empty client quota entity") }
        for c in components {
            if c.entityName == "" {
                throw ConfigChangeError(code: .invalidRequest, message: "Invalid empty name for entity type \(c.entityType)")
            }
            switch c.entityType {
            case Self.userType:
                guard user == nil else { throw ConfigChangeError(code: .invalidRequest, message: "Duplicate user entity") }
                user = Name(c.entityName)
            case Self.clientIDType:
                guard clientID == nil else { throw ConfigChangeError(code: .invalidRequest, message: "Duplicate client-id entity") }
                clientID = Name(c.entityName)
            case "ip":
                throw ConfigChangeError(code: .invalidRequest, message: "ip quota entities (connection_creation_rate, KIP-612) are not supported by Runnel")
            default:
                throw ConfigChangeError(code: .invalidRequest, message: "Unknown client quota entity type \(c.entityType)")
            }
        }
    }

    init(user: Name?, clientID: Name?) {
        self.user = user
        self.clientID = clientID
    }
}

/// The quota keys of user and client-id entities (Kafka's `QuotaConfig`).
enum ClientQuotaKey: String, CaseIterable, Sendable {
    /// Bytes per second of produce requests (KIP-13).
    case producerByteRate = "producer_byte_rate"
    /// Bytes per second of fetch responses (KIP-13).
    case consumerByteRate = "consumer_byte_rate"
    /// Percentage of one request-handling thread's time per quota window (KIP-124).
    case requestPercentage = "request_percentage"

    /// Whether values must be whole numbers (Kafka types the byte rates as longs).
    var isWholeNumber: Bool { self != .requestPercentage }
}

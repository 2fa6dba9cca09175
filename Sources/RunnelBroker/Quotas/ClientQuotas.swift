import KafkaProtocol

/// The client quotas set with AlterClientQuotas (KIP-546), as replayed from the metadata log's
/// `ClientQuotaRecord`s, and the rules that pick the quota of a request (KIP-55).
struct ClientQuotas: Sendable, Equatable {
    /// Quota values by entity, key → value.
    private(set) var values: [ClientQuotaEntity: [String: Double]] = [:]

    /// Sets (`value` non-nil) or removes one key of one entity.
    mutating func set(_ entity: ClientQuotaEntity, key: String, value: Double?) {
        values[entity, default: [:]][key] = value
        if values[entity]?.isEmpty == true { values.removeValue(forKey: entity) }
    }

    /// Which sensor a request's usage is recorded in: the user and client id tags of the entity
    /// its quota came from. A default entity gives each user (or client id) its own sensor; an
    /// entity without a client id makes all of a user's clients share one (Kafka's metric tags).
    struct SensorKey: Hashable, Sendable {
        var user: String
        var clientID: String
    }

    /// The quota that applies to `key` for a request from `user` with `clientID`, and the sensor
    /// it is measured in; nil when no entity sets `key` (unlimited).
    ///
    /// Entities are tried from the most to the least specific (KIP-55, Kafka's documented order),
    /// the first that sets `key` wins: user and client id, user and default client id, user;
    /// default user and client id, default user and default client id, default user; client id,
    /// default client id.
    func quota(_ key: ClientQuotaKey, user: String, clientID: String) -> (value: Double, sensor: SensorKey)? {
        guard !values.isEmpty else { return nil }
        typealias Name = ClientQuotaEntity.Name
        let users: [Name?] = [.named(user), .defaultEntity]
        var candidates: [ClientQuotaEntity] = []
        for u in users {
            candidates.append(.init(user: u, clientID: .named(clientID)))
            candidates.append(.init(user: u, clientID: .defaultEntity))
            candidates.append(.init(user: u, clientID: nil))
        }
        candidates.append(.init(user: nil, clientID: .named(clientID)))
        candidates.append(.init(user: nil, clientID: .defaultEntity))
        for entity in candidates {
            if let value = values[entity]?[key.rawValue] {
                return (value, SensorKey(user: entity.user == nil ? "" : user, clientID: entity.clientID == nil ? "" : clientID))
            }
        }
        return nil
    }

    /// The entities a DescribeClientQuotas filter selects, with their values (KIP-546).
    /// - Throws: ``ConfigChangeError`` INVALID_REQUEST for a type named twice in the filter, an
    ///   unknown match type, or a match string given with a match type other than exact (or
    ///   missing with exact).
    func describe(_ components: [DescribeClientQuotasRequest.Component], strict: Bool) throws -> [DescribeClientQuotasResponse.Entry] {
        typealias MatchType = DescribeClientQuotasRequest.MatchType
        var filter: [String: (MatchType, String?)] = [:]
        for c in components {
            guard filter[c.entityType] == nil else {
                throw ConfigChangeError(code: .invalidRequest, message: "Duplicate filter component entity type \(c.entityType)")
            }
            guard let match = MatchType(rawValue: c.matchType) else {
                throw ConfigChangeError(code: .invalidRequest, message: "Unknown match type \(c.matchType)")
            }
            guard (match == .exact) == (c.match != nil) else {
                throw ConfigChangeError(code: .invalidRequest,
                                        message: "Match type \(c.matchType) \(match == .exact ? "needs" : "takes no") match string for \(c.entityType)")
            }
            filter[c.entityType] = (match, c.match)
        }
        func selected(_ entity: ClientQuotaEntity) -> Bool {
            let names: [String: ClientQuotaEntity.Name] = Dictionary(uniqueKeysWithValues: entity.components.map {
                ($0.entityType, ClientQuotaEntity.Name($0.entityName))
            })
            if strict, Set(names.keys) != Set(filter.keys) { return false }
            for (type, (match, string)) in filter {
                guard let name = names[type] else { return false }
                switch match {
                case .exact: if name != .named(string ?? "") { return false }
                case .defaultEntity: if name != .defaultEntity { return false }
                case .any: if name == .defaultEntity { return false }
                }
            }
            return true
        }
        return values.filter { selected($0.key) }
            .sorted { $0.key.description < $1.key.description }
            .map { entity, values in
                DescribeClientQuotasResponse.Entry(entity: entity.components,
                                                   values: values.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) })
            }
    }

    /// Checks one AlterClientQuotas operation (Kafka's `ClientQuotaControlManager` rules, plus
    /// Runnel's: values must be positive, and `controller_mutation_rate` (KIP-599) is refused
    /// because Runnel does not enforce it).
    /// - Throws: ``ConfigChangeError`` INVALID_REQUEST naming the problem.
    static func validate(key: String, value: Double, remove: Bool) throws {
        guard let known = ClientQuotaKey(rawValue: key) else {
            throw ConfigChangeError(code: .invalidRequest, message: "Invalid configuration key \(key)")
        }
        if remove { return }
        guard value.isFinite, value > 0 else {
            throw ConfigChangeError(code: .invalidRequest, message: "Invalid value \(value) for \(key): must be a positive number")
        }
        if known.isWholeNumber, value.rounded(.towardZero) != value || value > Double(Int64.max) {
            throw ConfigChangeError(code: .invalidRequest, message: "Invalid value \(value) for \(key): must be a whole number")
        }
    }
}

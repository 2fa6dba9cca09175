import KafkaProtocol
import KafkaSASL

/// The in-memory view of the cluster metadata, rebuilt by replaying the metadata log
/// (Kafka's `MetadataImage`). A value type: apply records to get the next image.
public struct MetadataImage: Sendable, Equatable {
    public struct PartitionImage: Sendable, Equatable {
        public var partitionID: Int32
        public var replicas: [Int32]
        public var isr: [Int32]
        public var leader: Int32
        public var leaderEpoch: Int32
        public var partitionEpoch: Int32
    }

    public struct TopicImage: Sendable, Equatable {
        public var name: String
        public var topicID: UUIDBytes
        /// Partitions by index.
        public var partitions: [Int32: PartitionImage] = [:]
        /// Topic-level config overrides (topic key → value).
        public var configs: [String: String] = [:]
    }

    /// A registered broker (from `RegisterBrokerRecord` and the fence, unfence and registration-change
    /// records that follow it), as in Kafka's `BrokerRegistration`.
    public struct BrokerImage: Sendable, Equatable {
        public var brokerID: Int32
        /// The epoch the controller assigned at registration; later records must name it.
        public var epoch: Int64
        public var incarnationID: UUIDBytes
        public var endpoints: [MetadataRecord.BrokerEndpoint]
        public var features: [MetadataRecord.BrokerFeature]
        public var rack: String?
        public var fenced: Bool
        public var inControlledShutdown: Bool
        public var logDirs: [UUIDBytes]
    }

    /// Registered brokers by id.
    public private(set) var brokers: [Int32: BrokerImage] = [:]
    /// Dynamic broker configs (KIP-226) by resource name: "" for cluster-wide defaults, else a
    /// broker id (key → value).
    public private(set) var brokerConfigs: [String: [String: String]] = [:]
    /// Topics by name.
    public private(set) var topics: [String: TopicImage] = [:]
    private var namesByID: [UUIDBytes: String] = [:]
    /// Client quotas (KIP-546), from `ClientQuotaRecord`s.
    private(set) var clientQuotas = ClientQuotas()
    /// ACLs (KIP-801) by id, from `AccessControlEntryRecord`s; those that fail validation are skipped.
    private(set) var acls: [UUIDBytes: AclBinding] = [:]
    /// SCRAM credentials (KIP-554) by user and mechanism, from `UserScramCredentialRecord`s.
    public private(set) var scramCredentials: [String: [ScramAlgorithm: ScramCredential]] = [:]
    /// The first producer id not yet handed out (from the last `ProducerIdsRecord`), 0 if none.
    public private(set) var nextProducerID: Int64 = 0

    public init() {}

    public func topic(id: UUIDBytes) -> TopicImage? {
        namesByID[id].flatMap { topics[$0] }
    }

    /// Applies one record. Records naming unknown topic IDs are ignored (they follow a removal).
    public mutating func apply(_ record: MetadataRecord) {
        switch record {
        case .topic(let name, let id):
            topics[name] = TopicImage(name: name, topicID: id)
            namesByID[id] = name
        case .partition(let p):
            guard let name = namesByID[p.topicID] else { return }
            topics[name]?.partitions[p.partitionID] = PartitionImage(
                partitionID: p.partitionID, replicas: p.replicas, isr: p.isr, leader: p.leader,
                leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch)
        case .config(let type, let resource, let name, let value):
            if type == MetadataRecord.brokerResourceType {
                brokerConfigs[resource, default: [:]][name] = value
                if brokerConfigs[resource]?.isEmpty == true { brokerConfigs.removeValue(forKey: resource) }
                return
            }
            guard type == MetadataRecord.topicResourceType, topics[resource] != nil else { return }
            topics[resource]?.configs[name] = value
        case .removeTopic(let id):
            guard let name = namesByID.removeValue(forKey: id) else { return }
            topics.removeValue(forKey: name)
        case .producerIDs(_, _, let next):
            nextProducerID = max(nextProducerID, next)
        case .registerBroker(let b):
            // A re-registration replaces the old one (Kafka's ClusterControlManager.replay).
            brokers[b.brokerID] = BrokerImage(
                brokerID: b.brokerID, epoch: b.brokerEpoch, incarnationID: b.incarnationID, endpoints: b.endpoints,
                features: b.features, rack: b.rack, fenced: b.fenced, inControlledShutdown: b.inControlledShutdown, logDirs: b.logDirs)
        case .unregisterBroker(let id, let epoch):
            // Kafka refuses an unregistration naming another epoch; a replay ignores it.
            guard brokers[id]?.epoch == epoch else { return }
            brokers.removeValue(forKey: id)
        case .fenceBroker(let id, let epoch):
            guard brokers[id]?.epoch == epoch else { return }
            brokers[id]?.fenced = true
        case .unfenceBroker(let id, let epoch):
            guard brokers[id]?.epoch == epoch else { return }
            brokers[id]?.fenced = false
        case .brokerRegistrationChange(let c):
            guard brokers[c.brokerID]?.epoch == c.brokerEpoch else { return }
            // Fenced: -1 unfenced, 1 fenced, 0 no change; InControlledShutdown: 1 entered, 0 no change.
            if c.fenced == 1 { brokers[c.brokerID]?.fenced = true }
            if c.fenced == -1 { brokers[c.brokerID]?.fenced = false }
            if c.inControlledShutdown == 1 { brokers[c.brokerID]?.inControlledShutdown = true }
            if !c.logDirs.isEmpty { brokers[c.brokerID]?.logDirs = c.logDirs }
        case .clientQuota(let components, let key, let value, let remove):
            // Records only ever hold entities that passed validation; anything else is skipped.
            guard let entity = try? ClientQuotaEntity(components: components) else { return }
            clientQuotas.set(entity, key: key, value: remove ? nil : value)
        case .accessControlEntry(let id, let data):
            guard let acl = try? AclBinding(creation: data, id: id) else { return }
            acls[id] = acl
        case .removeAccessControlEntry(let id):
            acls.removeValue(forKey: id)
        case .userScramCredential(let c):
            guard let algorithm = c.mechanism.mechanismName.flatMap(ScramAlgorithm.init(mechanismName:)) else { return }
            scramCredentials[c.name, default: [:]][algorithm] = ScramCredential(
                algorithm: algorithm, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey, iterations: Int(c.iterations))
        case .removeUserScramCredential(let name, let mechanism):
            guard let algorithm = mechanism.mechanismName.flatMap(ScramAlgorithm.init(mechanismName:)) else { return }
            scramCredentials[name]?[algorithm] = nil
            if scramCredentials[name]?.isEmpty == true { scramCredentials.removeValue(forKey: name) }
        case .partitionChange(let c):
            guard let name = namesByID[c.topicID], var p = topics[name]?.partitions[c.partitionID] else { return }
            // Kafka's PartitionRegistration.merge: nil lists and leader -2 mean no change; any leader
            // value other than -2 (including the same leader, or -1 for none) bumps the leader epoch;
            // every change bumps the partition epoch.
            if let replicas = c.replicas { p.replicas = replicas }
            if let isr = c.isr { p.isr = isr }
            if c.leader != MetadataRecord.PartitionChangeRecordData.noLeaderChange {
                p.leader = c.leader
                p.leaderEpoch += 1
            }
            p.partitionEpoch += 1
            topics[name]?.partitions[c.partitionID] = p
        }
    }
}

import KafkaProtocol

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

    /// Dynamic broker configs (KIP-226) by resource name: "" for cluster-wide defaults, else a
    /// broker id (key → value).
    public private(set) var brokerConfigs: [String: [String: String]] = [:]
    /// Topics by name.
    public private(set) var topics: [String: TopicImage] = [:]
    private var namesByID: [UUIDBytes: String] = [:]
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
        }
    }
}

import KafkaProtocol

/// A broker as Metadata describes it.
public struct BrokerMetadata: Sendable, Equatable {
    /// The broker's `node.id`.
    public var id: Int32
    public var host: String
    public var port: Int
    /// `broker.rack`, if set.
    public var rack: String?

    public var address: BrokerAddress { BrokerAddress(host: host, port: port) }
}

/// One partition as Metadata describes it.
public struct PartitionMetadata: Sendable, Equatable {
    public var partition: Int32
    /// The leader's broker id, or -1 while there is none (LEADER_NOT_AVAILABLE).
    public var leader: Int32
    /// The leader epoch (KIP-320), -1 when the broker does not send it.
    public var leaderEpoch: Int32
    public var replicas: [Int32]
    public var inSyncReplicas: [Int32]
    public var offlineReplicas: [Int32]
    /// Partition-level error from Metadata (`.none` when healthy).
    public var error: ErrorCode
}

/// One topic as Metadata describes it; partitions sorted by index.
public struct TopicMetadata: Sendable, Equatable {
    public var name: String
    public var topicID: UUIDBytes
    public var isInternal: Bool
    public var partitions: [PartitionMetadata]

    /// The partition count.
    public var partitionCount: Int { partitions.count }
}

/// A cluster's brokers, controller and id (Metadata / DescribeCluster).
public struct ClusterDescription: Sendable, Equatable {
    public var clusterID: String?
    /// The active controller's broker id, -1 when unknown.
    public var controllerID: Int32
    public var brokers: [BrokerMetadata]
}

extension TopicMetadata {
    init(_ topic: MetadataResponse.Topic) {
        self.init(name: topic.name ?? "", topicID: topic.topicID, isInternal: topic.isInternal,
                  partitions: topic.partitions.map {
                      PartitionMetadata(partition: $0.partitionIndex, leader: $0.leaderID, leaderEpoch: $0.leaderEpoch,
                                        replicas: $0.replicaNodes, inSyncReplicas: $0.isrNodes,
                                        offlineReplicas: $0.offlineReplicas, error: $0.errorCode)
                  }.sorted { $0.partition < $1.partition })
    }
}

extension ErrorCode {
    /// Errors after which the client's view of partition leadership is stale and Metadata must be
    /// asked again (the Java client's `InvalidMetadataException` family).
    var invalidatesMetadata: Bool {
        switch self {
        case .notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable, .fencedLeaderEpoch,
             .unknownLeaderEpoch, .kafkaStorageError, .unknownTopicID, .notCoordinator, .coordinatorNotAvailable:
            return true
        default:
            return false
        }
    }
}

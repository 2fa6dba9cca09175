/// A topic to create.
public struct NewTopic: Sendable, Equatable {
    public var name: String
    /// Partition count; -1 uses the broker's `num.partitions`.
    public var partitions: Int32
    /// Replicas per partition; -1 uses the broker's `default.replication.factor`.
    public var replicationFactor: Int16
    /// Topic configs (`cleanup.policy`, `retention.ms`...).
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// One config of a topic or broker (DescribeConfigs, KIP-226 sources).
public struct ConfigEntry: Sendable, Equatable {
    public var name: String
    /// `nil` for sensitive values and unset ones.
    public var value: String?
    /// `DYNAMIC_TOPIC_CONFIG`, `DYNAMIC_BROKER_CONFIG`, `STATIC_BROKER_CONFIG`, `DEFAULT_CONFIG`...
    public var source: String
    public var isDefault: Bool
    public var isReadOnly: Bool
    public var isSensitive: Bool
}

/// What a config resource is (DescribeConfigs resource types).
public enum ConfigResource: Sendable, Equatable {
    case topic(String)
    /// A broker by id (its `node.id`).
    case broker(Int32)

    var type: Int8 { if case .topic = self { 2 } else { 4 } }
    var name: String {
        switch self {
        case .topic(let name): return name
        case .broker(let id): return "\(id)"
        }
    }
}

/// A change to one config in IncrementalAlterConfigs (KIP-339).
public enum ConfigChange: Sendable, Equatable {
    case set(String, String)
    /// Back to the default.
    case delete(String)
}

/// A group as ListGroups reports it.
public struct GroupListing: Sendable, Equatable {
    public var groupID: String
    /// `consumer` for consumer groups; empty for groups with no protocol yet.
    public var protocolType: String
    /// `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Dead` (ListGroups v4+), else empty.
    public var state: String
}

/// A group as DescribeGroups reports it.
public struct GroupDescription: Sendable, Equatable {
    public var groupID: String
    public var state: String
    public var protocolType: String
    /// The assignor in use (`range`, `cooperative-sticky`...).
    public var assignor: String
    public var members: [GroupMemberDescription]
    /// The error DescribeGroups returned for this group, `.none` if it succeeded.
    public var error: String?
}

/// One member of a group.
public struct GroupMemberDescription: Sendable, Equatable {
    public var memberID: String
    public var groupInstanceID: String?
    public var clientID: String
    public var host: String
    /// Partitions from the member's consumer-protocol assignment (empty for other protocols).
    public var assignment: [TopicPartition]
}

/// Which offset ListOffsets looks up.
public enum OffsetSpec: Sendable, Equatable {
    /// The log start offset (timestamp -2).
    case earliest
    /// The log end offset, or the last stable offset under read_committed (timestamp -1).
    case latest
    /// The first offset whose timestamp is at or after this many milliseconds since the epoch.
    case timestamp(Int64)

    var wireTimestamp: Int64 {
        switch self {
        case .earliest: return -2
        case .latest: return -1
        case .timestamp(let ms): return ms
        }
    }
}

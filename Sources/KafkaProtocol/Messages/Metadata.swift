/// Metadata request (key 3), versions 0-12, flexible from 9.
///
/// `topics == nil` asks for every topic (v1+); v0 has no null, so an empty array means "all" and a
/// `nil` is written as an empty array there. Topic names are nullable from v10 (lookup by topic ID).
public struct MetadataRequest: KafkaRequest, Equatable {
    public typealias Response = MetadataResponse
    public static let apiKey = ApiKey.metadata

    /// One requested topic, by name or (v10+) by ID.
    public struct Topic: Equatable, Sendable {
        /// Topic ID (v10+); ``UUIDBytes/zero`` when asking by name.
        public var topicID: UUIDBytes
        /// Topic name; nullable from v10. A `nil` is written as "" before v10.
        public var name: String?
        public var taggedFields = TaggedFields()

        public init(topicID: UUIDBytes = .zero, name: String?) {
            self.topicID = topicID
            self.name = name
        }
    }

    /// Topics to describe; `nil` means all topics (v1+).
    public var topics: [Topic]?
    /// Whether the broker may auto-create missing topics (v4+; implied true before).
    public var allowAutoTopicCreation: Bool
    /// Whether to return cluster authorized operations (v8-10).
    public var includeClusterAuthorizedOperations: Bool
    /// Whether to return topic authorized operations (v8+).
    public var includeTopicAuthorizedOperations: Bool
    public var taggedFields = TaggedFields()

    public init(topics: [Topic]?, allowAutoTopicCreation: Bool = true,
                includeClusterAuthorizedOperations: Bool = false,
                includeTopicAuthorizedOperations: Bool = false) {
        self.topics = topics
        self.allowAutoTopicCreation = allowAutoTopicCreation
        self.includeClusterAuthorizedOperations = includeClusterAuthorizedOperations
        self.includeTopicAuthorizedOperations = includeTopicAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        let readTopic = { (r: inout KafkaReader) throws -> Topic in
            var t = Topic(topicID: version >= 10 ? try r.readUUID("topic_id") : .zero,
                          name: version >= 10 ? try r.readNullableString("name") : try r.readString("name"))
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        if version >= 1 {
            topics = try reader.readNullableArray("topics", readTopic)
        } else {
            topics = try reader.readArray("topics", readTopic)
        }
        allowAutoTopicCreation = version >= 4 ? try reader.readBool("allow_auto_topic_creation") : true
        includeClusterAuthorizedOperations = (8...10).contains(version)
            ? try reader.readBool("include_cluster_authorized_operations") : false
        includeTopicAuthorizedOperations = version >= 8 ? try reader.readBool("include_topic_authorized_operations") : false
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        let writeTopic = { (w: inout KafkaWriter, t: Topic) in
            if version >= 10 {
                w.writeUUID(t.topicID)
                w.writeNullableString(t.name)
            } else {
                w.writeString(t.name ?? "")
            }
            w.writeTaggedFields(t.taggedFields)
        }
        if version >= 1 {
            writer.writeNullableArray(topics, writeTopic)
        } else {
            writer.writeArray(topics ?? [], writeTopic)
        }
        if version >= 4 { writer.writeBool(allowAutoTopicCreation) }
        if (8...10).contains(version) { writer.writeBool(includeClusterAuthorizedOperations) }
        if version >= 8 { writer.writeBool(includeTopicAuthorizedOperations) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// Metadata response (key 3), versions 0-12, flexible from 9.
///
/// Authorized-operations fields default to `Int32.min` ("not requested"); topic names are nullable
/// from v12 (unknown topic asked for by ID).
public struct MetadataResponse: KafkaMessage, Equatable {
    /// A broker in the cluster.
    public struct Broker: Equatable, Sendable {
        public var nodeID: Int32
        public var host: String
        public var port: Int32
        /// Rack (v1+), `nil` when unassigned.
        public var rack: String?
        public var taggedFields = TaggedFields()

        public init(nodeID: Int32, host: String, port: Int32, rack: String? = nil) {
            self.nodeID = nodeID
            self.host = host
            self.port = port
            self.rack = rack
        }
    }

    /// Metadata for one partition.
    public struct Partition: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var partitionIndex: Int32
        public var leaderID: Int32
        /// Leader epoch (v7+), -1 when unknown.
        public var leaderEpoch: Int32
        public var replicaNodes: [Int32]
        public var isrNodes: [Int32]
        /// Offline replicas (v5+).
        public var offlineReplicas: [Int32]
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, partitionIndex: Int32, leaderID: Int32, leaderEpoch: Int32 = -1,
                    replicaNodes: [Int32], isrNodes: [Int32], offlineReplicas: [Int32] = []) {
            self.errorCode = errorCode
            self.partitionIndex = partitionIndex
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.replicaNodes = replicaNodes
            self.isrNodes = isrNodes
            self.offlineReplicas = offlineReplicas
        }
    }

    /// Metadata for one topic.
    public struct Topic: Equatable, Sendable {
        public var errorCode: ErrorCode
        /// Topic name; nullable from v12. A `nil` is written as "" before v12.
        public var name: String?
        /// Topic ID (v10+), ``UUIDBytes/zero`` when unknown.
        public var topicID: UUIDBytes
        /// Whether the topic is internal (v1+).
        public var isInternal: Bool
        public var partitions: [Partition]
        /// Authorized-operations bitfield (v8+); `Int32.min` when not requested.
        public var topicAuthorizedOperations: Int32
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, name: String?, topicID: UUIDBytes = .zero, isInternal: Bool = false,
                    partitions: [Partition], topicAuthorizedOperations: Int32 = Int32.min) {
            self.errorCode = errorCode
            self.name = name
            self.topicID = topicID
            self.isInternal = isInternal
            self.partitions = partitions
            self.topicAuthorizedOperations = topicAuthorizedOperations
        }
    }

    /// Milliseconds the request was throttled (v3+).
    public var throttleTimeMs: Int32
    public var brokers: [Broker]
    /// Cluster ID (v2+), nullable.
    public var clusterID: String?
    /// Controller broker ID (v1+), -1 when unknown.
    public var controllerID: Int32
    public var topics: [Topic]
    /// Cluster authorized-operations bitfield (v8-10); `Int32.min` when not requested.
    public var clusterAuthorizedOperations: Int32
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, brokers: [Broker], clusterID: String? = nil, controllerID: Int32 = -1,
                topics: [Topic], clusterAuthorizedOperations: Int32 = Int32.min) {
        self.throttleTimeMs = throttleTimeMs
        self.brokers = brokers
        self.clusterID = clusterID
        self.controllerID = controllerID
        self.topics = topics
        self.clusterAuthorizedOperations = clusterAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 3 ? try reader.readInt32("throttle_time_ms") : 0
        brokers = try reader.readArray("brokers") { r in
            var b = Broker(nodeID: try r.readInt32("node_id"), host: try r.readString("host"),
                           port: try r.readInt32("port"),
                           rack: version >= 1 ? try r.readNullableString("rack") : nil)
            b.taggedFields = try r.readTaggedFields()
            return b
        }
        clusterID = version >= 2 ? try reader.readNullableString("cluster_id") : nil
        controllerID = version >= 1 ? try reader.readInt32("controller_id") : -1
        topics = try reader.readArray("topics") { r in
            let errorCode = ErrorCode(try r.readInt16("error_code"))
            let name = version >= 12 ? try r.readNullableString("name") : try r.readString("name")
            let topicID = version >= 10 ? try r.readUUID("topic_id") : .zero
            let isInternal = version >= 1 ? try r.readBool("is_internal") : false
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(
                    errorCode: ErrorCode(try r.readInt16("error_code")),
                    partitionIndex: try r.readInt32("partition_index"),
                    leaderID: try r.readInt32("leader_id"),
                    leaderEpoch: version >= 7 ? try r.readInt32("leader_epoch") : -1,
                    replicaNodes: try r.readArray("replica_nodes") { try $0.readInt32() },
                    isrNodes: try r.readArray("isr_nodes") { try $0.readInt32() },
                    offlineReplicas: version >= 5 ? try r.readArray("offline_replicas") { try $0.readInt32() } : [])
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            let ops = version >= 8 ? try r.readInt32("topic_authorized_operations") : Int32.min
            var t = Topic(errorCode: errorCode, name: name, topicID: topicID, isInternal: isInternal,
                          partitions: partitions, topicAuthorizedOperations: ops)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        clusterAuthorizedOperations = (8...10).contains(version)
            ? try reader.readInt32("cluster_authorized_operations") : Int32.min
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 3 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(brokers) { w, b in
            w.writeInt32(b.nodeID)
            w.writeString(b.host)
            w.writeInt32(b.port)
            if version >= 1 { w.writeNullableString(b.rack) }
            w.writeTaggedFields(b.taggedFields)
        }
        if version >= 2 { writer.writeNullableString(clusterID) }
        if version >= 1 { writer.writeInt32(controllerID) }
        writer.writeArray(topics) { w, t in
            w.writeInt16(t.errorCode.rawValue)
            if version >= 12 { w.writeNullableString(t.name) } else { w.writeString(t.name ?? "") }
            if version >= 10 { w.writeUUID(t.topicID) }
            if version >= 1 { w.writeBool(t.isInternal) }
            w.writeArray(t.partitions) { w, p in
                w.writeInt16(p.errorCode.rawValue)
                w.writeInt32(p.partitionIndex)
                w.writeInt32(p.leaderID)
                if version >= 7 { w.writeInt32(p.leaderEpoch) }
                w.writeArray(p.replicaNodes) { $0.writeInt32($1) }
                w.writeArray(p.isrNodes) { $0.writeInt32($1) }
                if version >= 5 { w.writeArray(p.offlineReplicas) { $0.writeInt32($1) } }
                w.writeTaggedFields(p.taggedFields)
            }
            if version >= 8 { w.writeInt32(t.topicAuthorizedOperations) }
            w.writeTaggedFields(t.taggedFields)
        }
        if (8...10).contains(version) { writer.writeInt32(clusterAuthorizedOperations) }
        writer.writeTaggedFields(taggedFields)
    }
}

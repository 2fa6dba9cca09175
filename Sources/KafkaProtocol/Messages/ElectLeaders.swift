/// ElectLeaders request (key 43), versions 0-2, flexible from 2 (KIP-183 preferred elections;
/// v1 adds the election type, KIP-460 unclean elections).
///
/// `topicPartitions` nil asks for every partition of the cluster.
public struct ElectLeadersRequest: KafkaRequest, Equatable {
    public typealias Response = ElectLeadersResponse
    public static let apiKey = ApiKey.electLeaders

    /// Elect the preferred replica (the first in the replica list), if it is live and in sync.
    public static let preferred: Int8 = 0
    /// Elect a live replica outside the ISR when no in-sync replica is live.
    public static let unclean: Int8 = 1

    public struct TopicPartitions: Equatable, Sendable {
        public var topic: String
        public var partitions: [Int32]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [Int32]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// 0 preferred, 1 unclean (v1+; v0 is always preferred).
    public var electionType: Int8
    public var topicPartitions: [TopicPartitions]?
    /// Milliseconds the client waits for the elections.
    public var timeoutMs: Int32
    public var taggedFields = TaggedFields()

    public init(electionType: Int8 = 0, topicPartitions: [TopicPartitions]?, timeoutMs: Int32 = 60_000) {
        self.electionType = electionType
        self.topicPartitions = topicPartitions
        self.timeoutMs = timeoutMs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        electionType = version >= 1 ? try reader.readInt8("election_type") : 0
        topicPartitions = try reader.readNullableArray("topic_partitions") { r in
            var t = TopicPartitions(topic: try r.readString("topic"),
                                    partitions: try r.readArray("partitions") { try $0.readInt32("partition") })
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        timeoutMs = try reader.readInt32("timeout_ms")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt8(electionType) }
        writer.writeNullableArray(topicPartitions) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitions) { $0.writeInt32($1) }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeInt32(timeoutMs)
        writer.writeTaggedFields(taggedFields)
    }
}

/// ElectLeaders response (key 43), versions 0-2, flexible from 2; v1 adds a top-level error code.
public struct ElectLeadersResponse: KafkaMessage, Equatable {
    public struct PartitionResult: Equatable, Sendable {
        public var partitionID: Int32
        /// NONE, ELECTION_NOT_NEEDED, ELIGIBLE_LEADERS_NOT_AVAILABLE, PREFERRED_LEADER_NOT_AVAILABLE,
        /// UNKNOWN_TOPIC_OR_PARTITION...
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var taggedFields = TaggedFields()

        public init(partitionID: Int32, errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.partitionID = partitionID
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    public struct ReplicaElectionResult: Equatable, Sendable {
        public var topic: String
        public var partitionResults: [PartitionResult]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitionResults: [PartitionResult]) {
            self.topic = topic
            self.partitionResults = partitionResults
        }
    }

    public var throttleTimeMs: Int32
    /// v1+: an error for the whole request (CLUSTER_AUTHORIZATION_FAILED, NOT_CONTROLLER...).
    public var errorCode: ErrorCode
    public var replicaElectionResults: [ReplicaElectionResult]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, replicaElectionResults: [ReplicaElectionResult]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.replicaElectionResults = replicaElectionResults
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = version >= 1 ? ErrorCode(try reader.readInt16("error_code")) : .none
        replicaElectionResults = try reader.readArray("replica_election_results") { r in
            let topic = try r.readString("topic")
            let results = try r.readArray("partition_result") { r in
                var p = PartitionResult(partitionID: try r.readInt32("partition_id"), errorCode: ErrorCode(try r.readInt16("error_code")),
                                        errorMessage: try r.readNullableString("error_message"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = ReplicaElectionResult(topic: topic, partitionResults: results)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        if version >= 1 { writer.writeInt16(errorCode.rawValue) }
        writer.writeArray(replicaElectionResults) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitionResults) { w, p in
                w.writeInt32(p.partitionID)
                w.writeInt16(p.errorCode.rawValue)
                w.writeNullableString(p.errorMessage)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// OffsetForLeaderEpoch request (key 23), versions 2-4, flexible from 4 (KIP-101, KIP-320).
///
/// The version checks also cover v0-1. `replicaID` (v3+) is -1 for consumers and defaults to -2
/// ("debugging") when absent, as in Kafka's schema.
public struct OffsetForLeaderEpochRequest: KafkaRequest, Equatable {
    public typealias Response = OffsetForLeaderEpochResponse
    public static let apiKey = ApiKey.offsetForLeaderEpoch

    /// One partition to look up.
    public struct Partition: Equatable, Sendable {
        public var partition: Int32
        /// Fencing epoch (v2+), -1 when not known.
        public var currentLeaderEpoch: Int32
        /// The epoch whose end offset is wanted.
        public var leaderEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(partition: Int32, currentLeaderEpoch: Int32 = -1, leaderEpoch: Int32) {
            self.partition = partition
            self.currentLeaderEpoch = currentLeaderEpoch
            self.leaderEpoch = leaderEpoch
        }
    }

    /// One topic to look up.
    public struct Topic: Equatable, Sendable {
        public var topic: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [Partition]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Follower broker ID, -1 for a consumer (v3+; -2 when absent).
    public var replicaID: Int32
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(replicaID: Int32 = -2, topics: [Topic]) {
        self.replicaID = replicaID
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = version >= 3 ? try reader.readInt32("replica_id") : -2
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("topic")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(partition: try r.readInt32("partition"),
                                  currentLeaderEpoch: version >= 2 ? try r.readInt32("current_leader_epoch") : -1,
                                  leaderEpoch: try r.readInt32("leader_epoch"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(topic: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 3 { writer.writeInt32(replicaID) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partition)
                if version >= 2 { w.writeInt32(p.currentLeaderEpoch) }
                w.writeInt32(p.leaderEpoch)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// OffsetForLeaderEpoch response (key 23), versions 2-4, flexible from 4.
///
/// Note the partition field order on the wire: error code first, then partition index.
public struct OffsetForLeaderEpochResponse: KafkaMessage, Equatable {
    /// Result for one partition.
    public struct EpochEndOffset: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var partition: Int32
        /// Largest epoch not above the requested one (v1+), -1 when unknown.
        public var leaderEpoch: Int32
        /// End offset of that epoch, -1 when unknown.
        public var endOffset: Int64
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, partition: Int32, leaderEpoch: Int32 = -1, endOffset: Int64 = -1) {
            self.errorCode = errorCode
            self.partition = partition
            self.leaderEpoch = leaderEpoch
            self.endOffset = endOffset
        }
    }

    /// Results for one topic.
    public struct Topic: Equatable, Sendable {
        public var topic: String
        public var partitions: [EpochEndOffset]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [EpochEndOffset]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Milliseconds the request was throttled (v2+).
    public var throttleTimeMs: Int32
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMs = throttleTimeMs
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 2 ? try reader.readInt32("throttle_time_ms") : 0
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("topic")
            let partitions = try r.readArray("partitions") { r in
                var p = EpochEndOffset(errorCode: ErrorCode(try r.readInt16("error_code")),
                                       partition: try r.readInt32("partition"),
                                       leaderEpoch: version >= 1 ? try r.readInt32("leader_epoch") : -1,
                                       endOffset: try r.readInt64("end_offset"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(topic: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 2 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitions) { w, p in
                w.writeInt16(p.errorCode.rawValue)
                w.writeInt32(p.partition)
                if version >= 1 { w.writeInt32(p.leaderEpoch) }
                w.writeInt64(p.endOffset)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

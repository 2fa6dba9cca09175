/// OffsetFetch request (key 9), versions 0-8, flexible from 6.
///
/// Two shapes share this type:
/// - v0-7: one group in `groupID` / `topics`; `groups` is not on the wire.
/// - v8 (KIP-709): several groups in `groups`; `groupID` / `topics` are not on the wire.
///
/// `topics == nil` asks for every partition the group has offsets for (v2+; before v2 there is no
/// null and a `nil` is written as an empty array). `requireStable` (v7+, KIP-447) asks the broker
/// to answer UNSTABLE_OFFSET_COMMIT for partitions with pending transactional commits. A broker
/// can normalise with ``requestedGroups(version:)``.
public struct OffsetFetchRequest: KafkaRequest, Equatable {
    public typealias Response = OffsetFetchResponse
    public static let apiKey = ApiKey.offsetFetch

    /// The partitions of one topic to fetch offsets for (Kafka's `OffsetFetchRequestTopic` in
    /// v0-7 and `OffsetFetchRequestTopics` in v8, which have the same fields).
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitionIndexes: [Int32]
        public var taggedFields = TaggedFields()

        public init(name: String, partitionIndexes: [Int32]) {
            self.name = name
            self.partitionIndexes = partitionIndexes
        }
    }

    /// One group to fetch offsets for (v8).
    public struct Group: Equatable, Sendable {
        public var groupID: String
        /// Topics to fetch; `nil` means all.
        public var topics: [Topic]?
        public var taggedFields = TaggedFields()

        public init(groupID: String, topics: [Topic]?) {
            self.groupID = groupID
            self.topics = topics
        }
    }

    /// The group (v0-7 only).
    public var groupID: String
    /// Topics to fetch (v0-7 only); `nil` means all (v2+).
    public var topics: [Topic]?
    /// The groups (v8 only, KIP-709).
    public var groups: [Group]
    /// Whether unstable (pending transactional) offsets are reported as UNSTABLE_OFFSET_COMMIT (v7+).
    public var requireStable: Bool
    public var taggedFields = TaggedFields()

    public init(groupID: String = "", topics: [Topic]? = nil, groups: [Group] = [], requireStable: Bool = false) {
        self.groupID = groupID
        self.topics = topics
        self.groups = groups
        self.requireStable = requireStable
    }

    /// The groups asked for in `version`: one built from `groupID` / `topics` before v8, `groups` in v8.
    public func requestedGroups(version: Int16) -> [Group] {
        version >= 8 ? groups : [Group(groupID: groupID, topics: topics)]
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        let readTopic = { (r: inout KafkaReader) throws -> Topic in
            var t = Topic(name: try r.readString("name"),
                          partitionIndexes: try r.readArray("partition_indexes") { try $0.readInt32("partition_indexes") })
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        if version <= 7 {
            groupID = try reader.readString("group_id")
            topics = version >= 2 ? try reader.readNullableArray("topics", readTopic) : try reader.readArray("topics", readTopic)
            groups = []
        } else {
            groupID = ""
            topics = nil
            groups = try reader.readArray("groups") { r in
                var g = Group(groupID: try r.readString("group_id"), topics: try r.readNullableArray("topics", readTopic))
                g.taggedFields = try r.readTaggedFields()
                return g
            }
        }
        requireStable = version >= 7 ? try reader.readBool("require_stable") : false
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        let writeTopic = { (w: inout KafkaWriter, t: Topic) in
            w.writeString(t.name)
            w.writeArray(t.partitionIndexes) { $0.writeInt32($1) }
            w.writeTaggedFields(t.taggedFields)
        }
        if version <= 7 {
            writer.writeString(groupID)
            if version >= 2 {
                writer.writeNullableArray(topics, writeTopic)
            } else {
                writer.writeArray(topics ?? [], writeTopic)
            }
        } else {
            writer.writeArray(groups) { w, g in
                w.writeString(g.groupID)
                w.writeNullableArray(g.topics, writeTopic)
                w.writeTaggedFields(g.taggedFields)
            }
        }
        if version >= 7 { writer.writeBool(requireStable) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// OffsetFetch response (key 9), versions 0-8, flexible from 6.
///
/// v0-7 answer one group in `topics` and (v2+) a top-level `errorCode` written *after* the topics;
/// v8 (KIP-709) answers each group in `groups`, each with its own `errorCode` after its topics.
/// A partition without a committed offset has `committedOffset` -1.
public struct OffsetFetchResponse: KafkaMessage, Equatable {
    /// The committed offset of one partition (Kafka's `OffsetFetchResponsePartition` in v0-7 and
    /// `OffsetFetchResponsePartitions` in v8).
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// The committed offset, -1 when there is none.
        public var committedOffset: Int64
        /// The leader epoch stored with the offset (v5+, KIP-320), -1 when unknown.
        public var committedLeaderEpoch: Int32
        /// The metadata stored with the offset, nullable.
        public var metadata: String?
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, committedOffset: Int64 = -1, committedLeaderEpoch: Int32 = -1,
                    metadata: String? = nil, errorCode: ErrorCode = .none) {
            self.partitionIndex = partitionIndex
            self.committedOffset = committedOffset
            self.committedLeaderEpoch = committedLeaderEpoch
            self.metadata = metadata
            self.errorCode = errorCode
        }
    }

    /// The committed offsets of one topic.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// The answer for one group (v8).
    public struct Group: Equatable, Sendable {
        public var groupID: String
        public var topics: [Topic]
        /// The group-level error.
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(groupID: String, topics: [Topic], errorCode: ErrorCode = .none) {
            self.groupID = groupID
            self.topics = topics
            self.errorCode = errorCode
        }
    }

    /// Milliseconds the request was throttled (v3+).
    public var throttleTimeMs: Int32
    /// The answer for the single group (v0-7 only).
    public var topics: [Topic]
    /// The group-level error (v2-7 only).
    public var errorCode: ErrorCode
    /// The answers per group (v8 only, KIP-709).
    public var groups: [Group]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, topics: [Topic] = [], errorCode: ErrorCode = .none, groups: [Group] = []) {
        self.throttleTimeMs = throttleTimeMs
        self.topics = topics
        self.errorCode = errorCode
        self.groups = groups
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        let readTopic = { (r: inout KafkaReader) throws -> Topic in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                let partitionIndex = try r.readInt32("partition_index")
                let committedOffset = try r.readInt64("committed_offset")
                let committedLeaderEpoch = version >= 5 ? try r.readInt32("committed_leader_epoch") : -1
                var p = Partition(partitionIndex: partitionIndex, committedOffset: committedOffset,
                                  committedLeaderEpoch: committedLeaderEpoch,
                                  metadata: try r.readNullableString("metadata"),
                                  errorCode: ErrorCode(try r.readInt16("error_code")))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(name: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        throttleTimeMs = version >= 3 ? try reader.readInt32("throttle_time_ms") : 0
        if version <= 7 {
            topics = try reader.readArray("topics", readTopic)
            errorCode = version >= 2 ? ErrorCode(try reader.readInt16("error_code")) : .none
            groups = []
        } else {
            topics = []
            errorCode = .none
            groups = try reader.readArray("groups") { r in
                var g = Group(groupID: try r.readString("group_id"), topics: try r.readArray("topics", readTopic),
                              errorCode: ErrorCode(try r.readInt16("error_code")))
                g.taggedFields = try r.readTaggedFields()
                return g
            }
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        let writeTopic = { (w: inout KafkaWriter, t: Topic) in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt64(p.committedOffset)
                if version >= 5 { w.writeInt32(p.committedLeaderEpoch) }
                w.writeNullableString(p.metadata)
                w.writeInt16(p.errorCode.rawValue)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        if version >= 3 { writer.writeInt32(throttleTimeMs) }
        if version <= 7 {
            writer.writeArray(topics, writeTopic)
            if version >= 2 { writer.writeInt16(errorCode.rawValue) }
        } else {
            writer.writeArray(groups) { w, g in
                w.writeString(g.groupID)
                w.writeArray(g.topics, writeTopic)
                w.writeInt16(g.errorCode.rawValue)
                w.writeTaggedFields(g.taggedFields)
            }
        }
        writer.writeTaggedFields(taggedFields)
    }
}

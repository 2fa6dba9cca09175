/// OffsetCommit request (key 8), versions 0-8, flexible from 8.
///
/// Version facts: v1 adds the generation / member ID and a per-partition commit timestamp; v2
/// drops the timestamp and adds a retention time, which v5 drops again; v6 adds the committed
/// leader epoch (KIP-320); v7 adds the static member ID (KIP-345). A `generationIDOrMemberEpoch`
/// of -1 with an empty `memberID` is a commit from outside the group (e.g. an admin client or a
/// consumer using `assign`).
public struct OffsetCommitRequest: KafkaRequest, Equatable {
    public typealias Response = OffsetCommitResponse
    public static let apiKey = ApiKey.offsetCommit

    /// One partition's offset to commit.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// The offset to commit: the next offset the consumer will read.
        public var committedOffset: Int64
        /// The leader epoch of the last consumed record (v6+, KIP-320), -1 when unknown.
        public var committedLeaderEpoch: Int32
        /// Commit timestamp in ms (v1 only), -1 for "now".
        public var commitTimestamp: Int64
        /// Client metadata stored with the offset, nullable.
        public var committedMetadata: String?
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, committedOffset: Int64, committedLeaderEpoch: Int32 = -1,
                    commitTimestamp: Int64 = -1, committedMetadata: String? = nil) {
            self.partitionIndex = partitionIndex
            self.committedOffset = committedOffset
            self.committedLeaderEpoch = committedLeaderEpoch
            self.commitTimestamp = commitTimestamp
            self.committedMetadata = committedMetadata
        }
    }

    /// The partitions of one topic to commit.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    public var groupID: String
    /// The generation of the group (v1+), -1 for a commit from outside the group. (Kafka's schema
    /// calls it `GenerationIdOrMemberEpoch` since v9 reuses it for KIP-848; here it is always
    /// the classic generation.)
    public var generationIDOrMemberEpoch: Int32
    /// The member ID (v1+), "" for a commit from outside the group.
    public var memberID: String
    /// The static member ID (v7+, KIP-345), `nil` for a dynamic member.
    public var groupInstanceID: String?
    /// Milliseconds to keep the offsets (v2-4), -1 for the broker default.
    public var retentionTimeMs: Int64
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(groupID: String, generationIDOrMemberEpoch: Int32 = -1, memberID: String = "",
                groupInstanceID: String? = nil, retentionTimeMs: Int64 = -1, topics: [Topic]) {
        self.groupID = groupID
        self.generationIDOrMemberEpoch = generationIDOrMemberEpoch
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.retentionTimeMs = retentionTimeMs
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString("group_id")
        generationIDOrMemberEpoch = version >= 1 ? try reader.readInt32("generation_id_or_member_epoch") : -1
        memberID = version >= 1 ? try reader.readString("member_id") : ""
        groupInstanceID = version >= 7 ? try reader.readNullableString("group_instance_id") : nil
        retentionTimeMs = (2...4).contains(version) ? try reader.readInt64("retention_time_ms") : -1
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                let partitionIndex = try r.readInt32("partition_index")
                let committedOffset = try r.readInt64("committed_offset")
                let committedLeaderEpoch = version >= 6 ? try r.readInt32("committed_leader_epoch") : -1
                let commitTimestamp = version == 1 ? try r.readInt64("commit_timestamp") : -1
                var p = Partition(partitionIndex: partitionIndex, committedOffset: committedOffset,
                                  committedLeaderEpoch: committedLeaderEpoch, commitTimestamp: commitTimestamp,
                                  committedMetadata: try r.readNullableString("committed_metadata"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(name: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeString(groupID)
        if version >= 1 {
            writer.writeInt32(generationIDOrMemberEpoch)
            writer.writeString(memberID)
        }
        if version >= 7 { writer.writeNullableString(groupInstanceID) }
        if (2...4).contains(version) { writer.writeInt64(retentionTimeMs) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt64(p.committedOffset)
                if version >= 6 { w.writeInt32(p.committedLeaderEpoch) }
                if version == 1 { w.writeInt64(p.commitTimestamp) }
                w.writeNullableString(p.committedMetadata)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// OffsetCommit response (key 8), versions 0-8, flexible from 8.
///
/// There is no top-level error: a group-level error is repeated on every partition.
public struct OffsetCommitResponse: KafkaMessage, Equatable {
    /// The result for one partition.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
        }
    }

    /// The results for one topic.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// Milliseconds the request was throttled (v3+).
    public var throttleTimeMs: Int32
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMs = throttleTimeMs
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 3 ? try reader.readInt32("throttle_time_ms") : 0
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(partitionIndex: try r.readInt32("partition_index"),
                                  errorCode: ErrorCode(try r.readInt16("error_code")))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(name: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 3 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt16(p.errorCode.rawValue)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

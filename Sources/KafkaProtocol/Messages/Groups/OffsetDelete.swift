/// OffsetDelete request (key 47), version 0 only, never flexible (KIP-496).
///
/// Deletes a group's committed offsets for the given partitions; refused with
/// GROUP_SUBSCRIBED_TO_TOPIC for topics the (non-empty) group still consumes. The `taggedFields`
/// properties exist for uniformity and are always empty on the wire.
public struct OffsetDeleteRequest: KafkaRequest, Equatable {
    public typealias Response = OffsetDeleteResponse
    public static let apiKey = ApiKey.offsetDelete

    /// One partition whose offset to delete.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32) {
            self.partitionIndex = partitionIndex
        }
    }

    /// The partitions of one topic whose offsets to delete.
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
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(groupID: String, topics: [Topic]) {
        self.groupID = groupID
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString("group_id")
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(partitionIndex: try r.readInt32("partition_index"))
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
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// OffsetDelete response (key 47), version 0 only, never flexible.
///
/// Note the top-level order on the wire: error code *before* throttle time.
public struct OffsetDeleteResponse: KafkaMessage, Equatable {
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

    /// The group-level error.
    public var errorCode: ErrorCode
    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(errorCode: ErrorCode = .none, throttleTimeMs: Int32 = 0, topics: [Topic] = []) {
        self.errorCode = errorCode
        self.throttleTimeMs = throttleTimeMs
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
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
        writer.writeInt16(errorCode.rawValue)
        writer.writeInt32(throttleTimeMs)
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

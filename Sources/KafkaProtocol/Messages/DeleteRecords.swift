/// DeleteRecords request (key 21), versions 0-2, flexible from 2 (KIP-107).
///
/// Moves each partition's log start offset forward to the given offset; v1 is the same as v0.
/// An offset of -1 means "up to the high watermark".
public struct DeleteRecordsRequest: KafkaRequest, Equatable {
    public typealias Response = DeleteRecordsResponse
    public static let apiKey = ApiKey.deleteRecords

    /// One partition to delete records from.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// Records before this offset are deleted; -1 means the high watermark.
        public var offset: Int64
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, offset: Int64) {
            self.partitionIndex = partitionIndex
            self.offset = offset
        }
    }

    /// One topic to delete records from.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    public var topics: [Topic]
    /// Milliseconds to wait for the deletion to complete on all replicas.
    public var timeoutMs: Int32
    public var taggedFields = TaggedFields()

    public init(topics: [Topic], timeoutMs: Int32) {
        self.topics = topics
        self.timeoutMs = timeoutMs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(partitionIndex: try r.readInt32("partition_index"),
                                  offset: try r.readInt64("offset"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(name: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        timeoutMs = try reader.readInt32("timeout_ms")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt64(p.offset)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeInt32(timeoutMs)
        writer.writeTaggedFields(taggedFields)
    }
}

/// DeleteRecords response (key 21), versions 0-2, flexible from 2.
///
/// Note the partition field order on the wire: low watermark before the error code.
public struct DeleteRecordsResponse: KafkaMessage, Equatable {
    /// Result for one partition.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// The partition's log start offset after the deletion, -1 on error.
        public var lowWatermark: Int64
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, lowWatermark: Int64 = -1, errorCode: ErrorCode = .none) {
            self.partitionIndex = partitionIndex
            self.lowWatermark = lowWatermark
            self.errorCode = errorCode
        }
    }

    /// Results for one topic.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// Milliseconds the request was throttled (all versions).
    public var throttleTimeMs: Int32
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMs = throttleTimeMs
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(partitionIndex: try r.readInt32("partition_index"),
                                  lowWatermark: try r.readInt64("low_watermark"),
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
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt64(p.lowWatermark)
                w.writeInt16(p.errorCode.rawValue)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

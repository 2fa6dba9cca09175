/// ListOffsets request (key 2), versions 0-7, flexible from 6; Runnel advertises 1-7.
///
/// `timestamp` is in ms since the epoch, or -1 (latest), -2 (earliest), -3 (max timestamp, v7+).
/// The v0-only `maxNumOffsets` is kept so that a v0 body still parses.
public struct ListOffsetsRequest: KafkaRequest, Equatable {
    public typealias Response = ListOffsetsResponse
    public static let apiKey = ApiKey.listOffsets

    /// One partition to look up.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// Fencing epoch (v4+), -1 when not known.
        public var currentLeaderEpoch: Int32
        /// Target timestamp in ms, or a special value (-1 latest, -2 earliest, -3 max timestamp).
        public var timestamp: Int64
        /// Maximum number of offsets to report (v0 only).
        public var maxNumOffsets: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, currentLeaderEpoch: Int32 = -1, timestamp: Int64, maxNumOffsets: Int32 = 1) {
            self.partitionIndex = partitionIndex
            self.currentLeaderEpoch = currentLeaderEpoch
            self.timestamp = timestamp
            self.maxNumOffsets = maxNumOffsets
        }
    }

    /// One topic to look up.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// Requesting broker ID, or -1 for a consumer.
    public var replicaID: Int32
    /// 0 = READ_UNCOMMITTED, 1 = READ_COMMITTED (v2+).
    public var isolationLevel: Int8
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(replicaID: Int32 = -1, isolationLevel: Int8 = 0, topics: [Topic]) {
        self.replicaID = replicaID
        self.isolationLevel = isolationLevel
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = try reader.readInt32("replica_id")
        isolationLevel = version >= 2 ? try reader.readInt8("isolation_level") : 0
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(
                    partitionIndex: try r.readInt32("partition_index"),
                    currentLeaderEpoch: version >= 4 ? try r.readInt32("current_leader_epoch") : -1,
                    timestamp: try r.readInt64("timestamp"),
                    maxNumOffsets: version == 0 ? try r.readInt32("max_num_offsets") : 1)
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
        writer.writeInt32(replicaID)
        if version >= 2 { writer.writeInt8(isolationLevel) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                if version >= 4 { w.writeInt32(p.currentLeaderEpoch) }
                w.writeInt64(p.timestamp)
                if version == 0 { w.writeInt32(p.maxNumOffsets) }
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// ListOffsets response (key 2), versions 0-7, flexible from 6; Runnel advertises 1-7.
///
/// `timestamp` is in ms (-1 when none); v0 carries `oldStyleOffsets` instead of timestamp/offset.
public struct ListOffsetsResponse: KafkaMessage, Equatable {
    /// Result for one partition.
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        /// Result offsets (v0 only).
        public var oldStyleOffsets: [Int64]
        /// Timestamp of the returned offset in ms (v1+), -1 when none.
        public var timestamp: Int64
        /// Returned offset (v1+), -1 when none.
        public var offset: Int64
        /// Leader epoch of the returned offset (v4+), -1 when unknown.
        public var leaderEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, oldStyleOffsets: [Int64] = [],
                    timestamp: Int64 = -1, offset: Int64 = -1, leaderEpoch: Int32 = -1) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
            self.oldStyleOffsets = oldStyleOffsets
            self.timestamp = timestamp
            self.offset = offset
            self.leaderEpoch = leaderEpoch
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
            let name = try r.readString("name")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(partitionIndex: try r.readInt32("partition_index"),
                                  errorCode: ErrorCode(try r.readInt16("error_code")))
                if version == 0 {
                    p.oldStyleOffsets = try r.readArray("old_style_offsets") { try $0.readInt64() }
                } else {
                    p.timestamp = try r.readInt64("timestamp")
                    p.offset = try r.readInt64("offset")
                }
                p.leaderEpoch = version >= 4 ? try r.readInt32("leader_epoch") : -1
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
        if version >= 2 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt16(p.errorCode.rawValue)
                if version == 0 {
                    w.writeArray(p.oldStyleOffsets) { $0.writeInt64($1) }
                } else {
                    w.writeInt64(p.timestamp)
                    w.writeInt64(p.offset)
                }
                if version >= 4 { w.writeInt32(p.leaderEpoch) }
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

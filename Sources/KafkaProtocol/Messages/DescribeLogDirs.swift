/// DescribeLogDirs request (key 35), versions 0-4, flexible from 2 (KIP-113; v3 adds a top-level
/// error code and v4 the volume's total and usable bytes to the response, KIP-827).
public struct DescribeLogDirsRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeLogDirsResponse
    public static let apiKey = ApiKey.describeLogDirs

    public struct Topic: Equatable, Sendable {
        public var topic: String
        public var partitions: [Int32]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [Int32]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Null: every partition of every topic.
    public var topics: [Topic]?
    public var taggedFields = TaggedFields()

    public init(topics: [Topic]?) {
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readNullableArray("topics") { r in
            var t = Topic(topic: try r.readString("topic"), partitions: try r.readArray("partitions") { try $0.readInt32("partition") })
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeNullableArray(topics) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitions) { $0.writeInt32($1) }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeLogDirs response (key 35), versions 0-4, flexible from 2.
public struct DescribeLogDirsResponse: KafkaMessage, Equatable {
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// Bytes of the partition's segments.
        public var partitionSize: Int64
        /// Log end offset minus high watermark (0 on a leader whose followers are caught up).
        public var offsetLag: Int64
        /// A future replica being moved by AlterReplicaLogDirs (never, on Runnel).
        public var isFutureKey: Bool
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, partitionSize: Int64, offsetLag: Int64, isFutureKey: Bool = false) {
            self.partitionIndex = partitionIndex
            self.partitionSize = partitionSize
            self.offsetLag = offsetLag
            self.isFutureKey = isFutureKey
        }
    }

    public struct Topic: Equatable, Sendable {
        public var name: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    public struct Result: Equatable, Sendable {
        public var errorCode: ErrorCode
        /// Absolute path of the log directory.
        public var logDir: String
        public var topics: [Topic]
        /// v4+: bytes of the volume holding the directory, -1 if unknown.
        public var totalBytes: Int64
        /// v4+: bytes still usable on that volume, -1 if unknown.
        public var usableBytes: Int64
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, logDir: String, topics: [Topic], totalBytes: Int64 = -1, usableBytes: Int64 = -1) {
            self.errorCode = errorCode
            self.logDir = logDir
            self.topics = topics
            self.totalBytes = totalBytes
            self.usableBytes = usableBytes
        }
    }

    public var throttleTimeMs: Int32
    /// v3+.
    public var errorCode: ErrorCode
    public var results: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = version >= 3 ? ErrorCode(try reader.readInt16("error_code")) : .none
        results = try reader.readArray("results") { r in
            let code = ErrorCode(try r.readInt16("error_code"))
            let dir = try r.readString("log_dir")
            let topics = try r.readArray("topics") { r in
                let name = try r.readString("name")
                let partitions = try r.readArray("partitions") { r in
                    var p = Partition(partitionIndex: try r.readInt32("partition_index"), partitionSize: try r.readInt64("partition_size"),
                                      offsetLag: try r.readInt64("offset_lag"), isFutureKey: try r.readBool("is_future_key"))
                    p.taggedFields = try r.readTaggedFields()
                    return p
                }
                var t = Topic(name: name, partitions: partitions)
                t.taggedFields = try r.readTaggedFields()
                return t
            }
            var result = Result(errorCode: code, logDir: dir, topics: topics)
            if version >= 4 {
                result.totalBytes = try r.readInt64("total_bytes")
                result.usableBytes = try r.readInt64("usable_bytes")
            }
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        if version >= 3 { writer.writeInt16(errorCode.rawValue) }
        writer.writeArray(results) { w, r in
            w.writeInt16(r.errorCode.rawValue)
            w.writeString(r.logDir)
            w.writeArray(r.topics) { w, t in
                w.writeString(t.name)
                w.writeArray(t.partitions) { w, p in
                    w.writeInt32(p.partitionIndex)
                    w.writeInt64(p.partitionSize)
                    w.writeInt64(p.offsetLag)
                    w.writeBool(p.isFutureKey)
                    w.writeTaggedFields(p.taggedFields)
                }
                w.writeTaggedFields(t.taggedFields)
            }
            if version >= 4 {
                w.writeInt64(r.totalBytes)
                w.writeInt64(r.usableBytes)
            }
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

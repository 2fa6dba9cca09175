/// CreateTopics request (key 19), versions 0-5, flexible from 5.
///
/// `numPartitions` / `replicationFactor` are -1 when `assignments` is given or the broker default
/// should apply. `timeoutMs` is in milliseconds.
public struct CreateTopicsRequest: KafkaRequest, Equatable {
    public typealias Response = CreateTopicsResponse
    public static let apiKey = ApiKey.createTopics

    /// A manual replica assignment for one partition.
    public struct Assignment: Equatable, Sendable {
        public var partitionIndex: Int32
        public var brokerIDs: [Int32]
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, brokerIDs: [Int32]) {
            self.partitionIndex = partitionIndex
            self.brokerIDs = brokerIDs
        }
    }

    /// A topic config to set; `value` is nullable.
    public struct Config: Equatable, Sendable {
        public var name: String
        public var value: String?
        public var taggedFields = TaggedFields()

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// One topic to create.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var numPartitions: Int32
        public var replicationFactor: Int16
        public var assignments: [Assignment]
        public var configs: [Config]
        public var taggedFields = TaggedFields()

        public init(name: String, numPartitions: Int32, replicationFactor: Int16,
                    assignments: [Assignment] = [], configs: [Config] = []) {
            self.name = name
            self.numPartitions = numPartitions
            self.replicationFactor = replicationFactor
            self.assignments = assignments
            self.configs = configs
        }
    }

    public var topics: [Topic]
    /// Milliseconds to wait for creation to complete.
    public var timeoutMs: Int32
    /// Check only, create nothing (v1+).
    public var validateOnly: Bool
    public var taggedFields = TaggedFields()

    public init(topics: [Topic], timeoutMs: Int32 = 60000, validateOnly: Bool = false) {
        self.topics = topics
        self.timeoutMs = timeoutMs
        self.validateOnly = validateOnly
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readArray("topics") { r in
            var t = Topic(
                name: try r.readString("name"),
                numPartitions: try r.readInt32("num_partitions"),
                replicationFactor: try r.readInt16("replication_factor"),
                assignments: try r.readArray("assignments") { r in
                    var a = Assignment(partitionIndex: try r.readInt32("partition_index"),
                                       brokerIDs: try r.readArray("broker_ids") { try $0.readInt32() })
                    a.taggedFields = try r.readTaggedFields()
                    return a
                },
                configs: try r.readArray("configs") { r in
                    var c = Config(name: try r.readString("name"), value: try r.readNullableString("value"))
                    c.taggedFields = try r.readTaggedFields()
                    return c
                })
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        timeoutMs = try reader.readInt32("timeout_ms")
        validateOnly = version >= 1 ? try reader.readBool("validate_only") : false
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeInt32(t.numPartitions)
            w.writeInt16(t.replicationFactor)
            w.writeArray(t.assignments) { w, a in
                w.writeInt32(a.partitionIndex)
                w.writeArray(a.brokerIDs) { $0.writeInt32($1) }
                w.writeTaggedFields(a.taggedFields)
            }
            w.writeArray(t.configs) { w, c in
                w.writeString(c.name)
                w.writeNullableString(c.value)
                w.writeTaggedFields(c.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeInt32(timeoutMs)
        if version >= 1 { writer.writeBool(validateOnly) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// CreateTopics response (key 19), versions 0-5, flexible from 5.
///
/// `topicConfigErrorCode` is tagged field 0 (v5+) and is written only when not NONE.
public struct CreateTopicsResponse: KafkaMessage, Equatable {
    /// One config of a created topic (v5+).
    public struct Config: Equatable, Sendable {
        public var name: String
        public var value: String?
        public var readOnly: Bool
        /// Config source (`DescribeConfigs` numbering), -1 when unknown.
        public var configSource: Int8
        public var isSensitive: Bool
        public var taggedFields = TaggedFields()

        public init(name: String, value: String?, readOnly: Bool = false, configSource: Int8 = -1,
                    isSensitive: Bool = false) {
            self.name = name
            self.value = value
            self.readOnly = readOnly
            self.configSource = configSource
            self.isSensitive = isSensitive
        }
    }

    /// Result for one topic.
    public struct Topic: Equatable, Sendable {
        public var name: String
        public var errorCode: ErrorCode
        /// Error message (v1+), `nil` when none.
        public var errorMessage: String?
        /// Error describing configs (tagged 0, v5+), NONE by default.
        public var topicConfigErrorCode: ErrorCode
        /// Partition count (v5+), -1 when unknown.
        public var numPartitions: Int32
        /// Replication factor (v5+), -1 when unknown.
        public var replicationFactor: Int16
        /// Topic configs (v5+); nullable.
        public var configs: [Config]?
        public var taggedFields = TaggedFields()

        public init(name: String, errorCode: ErrorCode = .none, errorMessage: String? = nil,
                    topicConfigErrorCode: ErrorCode = .none, numPartitions: Int32 = -1, replicationFactor: Int16 = -1,
                    configs: [Config]? = []) {
            self.name = name
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.topicConfigErrorCode = topicConfigErrorCode
            self.numPartitions = numPartitions
            self.replicationFactor = replicationFactor
            self.configs = configs
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
            var t = Topic(name: try r.readString("name"), errorCode: ErrorCode(try r.readInt16("error_code")))
            if version >= 1 { t.errorMessage = try r.readNullableString("error_message") }
            if version >= 5 {
                t.numPartitions = try r.readInt32("num_partitions")
                t.replicationFactor = try r.readInt16("replication_factor")
                t.configs = try r.readNullableArray("configs") { r in
                    var c = Config(name: try r.readString("name"), value: try r.readNullableString("value"),
                                   readOnly: try r.readBool("read_only"), configSource: try r.readInt8("config_source"),
                                   isSensitive: try r.readBool("is_sensitive"))
                    c.taggedFields = try r.readTaggedFields()
                    return c
                }
            }
            var tagged = try r.readTaggedFields()
            if let raw = tagged.remove(0) {
                t.topicConfigErrorCode = ErrorCode(try KafkaReader.decodeTaggedValue(raw, field: "topic_config_error_code") {
                    try $0.readInt16("topic_config_error_code")
                })
            }
            t.taggedFields = tagged
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 2 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeInt16(t.errorCode.rawValue)
            if version >= 1 { w.writeNullableString(t.errorMessage) }
            var tagged = t.taggedFields
            if version >= 5 {
                w.writeInt32(t.numPartitions)
                w.writeInt16(t.replicationFactor)
                w.writeNullableArray(t.configs) { w, c in
                    w.writeString(c.name)
                    w.writeNullableString(c.value)
                    w.writeBool(c.readOnly)
                    w.writeInt8(c.configSource)
                    w.writeBool(c.isSensitive)
                    w.writeTaggedFields(c.taggedFields)
                }
                if t.topicConfigErrorCode != .none {
                    tagged = tagged.setting(0) { $0.writeInt16(t.topicConfigErrorCode.rawValue) }
                }
            }
            w.writeTaggedFields(tagged)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

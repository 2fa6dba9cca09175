/// CreatePartitions request (key 37), versions 0-3, flexible from 2 (KIP-195): raises topics'
/// partition counts. `timeoutMs` is in milliseconds; `assignments` (nullable) names the replicas of
/// each new partition.
public struct CreatePartitionsRequest: KafkaRequest, Equatable {
    public typealias Response = CreatePartitionsResponse
    public static let apiKey = ApiKey.createPartitions

    /// One topic to grow.
    public struct Topic: Equatable, Sendable {
        public var name: String
        /// The new total partition count.
        public var count: Int32
        /// Replica broker ids for each new partition; nil lets the broker choose.
        public var assignments: [[Int32]]?
        public var taggedFields = TaggedFields()

        public init(name: String, count: Int32, assignments: [[Int32]]? = nil) {
            self.name = name
            self.count = count
            self.assignments = assignments
        }
    }

    public var topics: [Topic]
    public var timeoutMs: Int32
    public var validateOnly: Bool
    public var taggedFields = TaggedFields()

    public init(topics: [Topic], timeoutMs: Int32, validateOnly: Bool = false) {
        self.topics = topics
        self.timeoutMs = timeoutMs
        self.validateOnly = validateOnly
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("name")
            let count = try r.readInt32("count")
            let assignments: [[Int32]]? = try r.readNullableArray("assignments") { r in
                let ids = try r.readArray("broker_ids") { try $0.readInt32("broker_id") }
                _ = try r.readTaggedFields()
                return ids
            }
            var t = Topic(name: name, count: count, assignments: assignments)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        timeoutMs = try reader.readInt32("timeout_ms")
        validateOnly = try reader.readBool("validate_only")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(topics) { w, t in
            w.writeString(t.name)
            w.writeInt32(t.count)
            w.writeNullableArray(t.assignments) { w, ids in
                w.writeArray(ids) { $0.writeInt32($1) }
                w.writeTaggedFields()
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeInt32(timeoutMs)
        writer.writeBool(validateOnly)
        writer.writeTaggedFields(taggedFields)
    }
}

/// CreatePartitions response (key 37), versions 0-3, flexible from 2.
public struct CreatePartitionsResponse: KafkaMessage, Equatable {
    /// The outcome for one topic.
    public struct Result: Equatable, Sendable {
        public var name: String
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var taggedFields = TaggedFields()

        public init(name: String, errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.name = name
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var results: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        results = try reader.readArray("results") { r in
            var result = Result(name: try r.readString("name"), errorCode: ErrorCode(try r.readInt16("error_code")),
                                errorMessage: try r.readNullableString("error_message"))
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(results) { w, r in
            w.writeString(r.name)
            w.writeInt16(r.errorCode.rawValue)
            w.writeNullableString(r.errorMessage)
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

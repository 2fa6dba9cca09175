/// DeleteTopics request (key 20), versions 0-4, flexible from 4.
///
/// `timeoutMs` is in milliseconds. (v6+ replaces `topicNames` with name-or-ID entries; not supported.)
public struct DeleteTopicsRequest: KafkaRequest, Equatable {
    public typealias Response = DeleteTopicsResponse
    public static let apiKey = ApiKey.deleteTopics

    /// Names of the topics to delete.
    public var topicNames: [String]
    /// Milliseconds to wait for the deletions to complete.
    public var timeoutMs: Int32
    public var taggedFields = TaggedFields()

    public init(topicNames: [String], timeoutMs: Int32) {
        self.topicNames = topicNames
        self.timeoutMs = timeoutMs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topicNames = try reader.readArray("topic_names") { try $0.readString("topic_names") }
        timeoutMs = try reader.readInt32("timeout_ms")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(topicNames) { $0.writeString($1) }
        writer.writeInt32(timeoutMs)
        writer.writeTaggedFields(taggedFields)
    }
}

/// DeleteTopics response (key 20), versions 0-4, flexible from 4.
public struct DeleteTopicsResponse: KafkaMessage, Equatable {
    /// Result for one topic.
    public struct Result: Equatable, Sendable {
        public var name: String
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(name: String, errorCode: ErrorCode = .none) {
            self.name = name
            self.errorCode = errorCode
        }
    }

    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var responses: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, responses: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.responses = responses
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        responses = try reader.readArray("responses") { r in
            var result = Result(name: try r.readString("name"), errorCode: ErrorCode(try r.readInt16("error_code")))
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(responses) { w, result in
            w.writeString(result.name)
            w.writeInt16(result.errorCode.rawValue)
            w.writeTaggedFields(result.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

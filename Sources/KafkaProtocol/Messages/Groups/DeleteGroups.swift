/// DeleteGroups request (key 42), versions 0-2, flexible from 2.
///
/// Only empty groups can be deleted; others get NON_EMPTY_GROUP.
public struct DeleteGroupsRequest: KafkaRequest, Equatable {
    public typealias Response = DeleteGroupsResponse
    public static let apiKey = ApiKey.deleteGroups

    /// The IDs of the groups to delete (Kafka's field is really spelled `GroupsNames`).
    public var groupsNames: [String]
    public var taggedFields = TaggedFields()

    public init(groupsNames: [String]) {
        self.groupsNames = groupsNames
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupsNames = try reader.readArray("groups_names") { try $0.readString("groups_names") }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(groupsNames) { $0.writeString($1) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DeleteGroups response (key 42), versions 0-2, flexible from 2.
public struct DeleteGroupsResponse: KafkaMessage, Equatable {
    /// The result for one group (Kafka's `DeletableGroupResult`).
    public struct Result: Equatable, Sendable {
        public var groupID: String
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(groupID: String, errorCode: ErrorCode = .none) {
            self.groupID = groupID
            self.errorCode = errorCode
        }
    }

    /// Milliseconds the request was throttled (all versions).
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
            var result = Result(groupID: try r.readString("group_id"), errorCode: ErrorCode(try r.readInt16("error_code")))
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(results) { w, result in
            w.writeString(result.groupID)
            w.writeInt16(result.errorCode.rawValue)
            w.writeTaggedFields(result.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

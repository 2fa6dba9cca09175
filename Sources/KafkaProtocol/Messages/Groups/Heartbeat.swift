/// Heartbeat request (key 12), versions 0-4, flexible from 4.
///
/// A member sends one every `heartbeat.interval.ms` to stay in the group; REBALANCE_IN_PROGRESS
/// in the response tells it to rejoin.
public struct HeartbeatRequest: KafkaRequest, Equatable {
    public typealias Response = HeartbeatResponse
    public static let apiKey = ApiKey.heartbeat

    public var groupID: String
    public var generationID: Int32
    public var memberID: String
    /// The static member ID (v3+, KIP-345), `nil` for a dynamic member.
    public var groupInstanceID: String?
    public var taggedFields = TaggedFields()

    public init(groupID: String, generationID: Int32, memberID: String, groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString("group_id")
        generationID = try reader.readInt32("generation_id")
        memberID = try reader.readString("member_id")
        groupInstanceID = version >= 3 ? try reader.readNullableString("group_instance_id") : nil
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeString(groupID)
        writer.writeInt32(generationID)
        writer.writeString(memberID)
        if version >= 3 { writer.writeNullableString(groupInstanceID) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// Heartbeat response (key 12), versions 0-4, flexible from 4.
public struct HeartbeatResponse: KafkaMessage, Equatable {
    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeInt16(errorCode.rawValue)
        writer.writeTaggedFields(taggedFields)
    }
}

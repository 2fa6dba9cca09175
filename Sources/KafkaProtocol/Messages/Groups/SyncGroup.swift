import NIOCore

/// SyncGroup request (key 14), versions 0-5, flexible from 4.
///
/// The leader sends every member's assignment; followers send none. `groupInstanceID` (v3+) is
/// the static member ID of KIP-345; `protocolType` / `protocolName` (v5+, KIP-559) let the
/// coordinator reject a request that disagrees with the group's protocol.
public struct SyncGroupRequest: KafkaRequest, Equatable {
    public typealias Response = SyncGroupResponse
    public static let apiKey = ApiKey.syncGroup

    /// The assignment for one member (leader only).
    public struct Assignment: Equatable, Sendable {
        public var memberID: String
        /// Opaque member assignment.
        public var assignment: ByteBuffer
        public var taggedFields = TaggedFields()

        public init(memberID: String, assignment: ByteBuffer) {
            self.memberID = memberID
            self.assignment = assignment
        }
    }

    public var groupID: String
    public var generationID: Int32
    public var memberID: String
    /// The static member ID (v3+, KIP-345), `nil` for a dynamic member.
    public var groupInstanceID: String?
    /// The group protocol type (v5+), `nil` when not sent.
    public var protocolType: String?
    /// The group protocol name (v5+), `nil` when not sent.
    public var protocolName: String?
    /// Assignments for every member from the leader; empty from followers.
    public var assignments: [Assignment]
    public var taggedFields = TaggedFields()

    public init(groupID: String, generationID: Int32, memberID: String, groupInstanceID: String? = nil,
                protocolType: String? = nil, protocolName: String? = nil, assignments: [Assignment] = []) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString("group_id")
        generationID = try reader.readInt32("generation_id")
        memberID = try reader.readString("member_id")
        groupInstanceID = version >= 3 ? try reader.readNullableString("group_instance_id") : nil
        protocolType = version >= 5 ? try reader.readNullableString("protocol_type") : nil
        protocolName = version >= 5 ? try reader.readNullableString("protocol_name") : nil
        assignments = try reader.readArray("assignments") { r in
            var a = Assignment(memberID: try r.readString("member_id"), assignment: try r.readBytes("assignment"))
            a.taggedFields = try r.readTaggedFields()
            return a
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeString(groupID)
        writer.writeInt32(generationID)
        writer.writeString(memberID)
        if version >= 3 { writer.writeNullableString(groupInstanceID) }
        if version >= 5 {
            writer.writeNullableString(protocolType)
            writer.writeNullableString(protocolName)
        }
        writer.writeArray(assignments) { w, a in
            w.writeString(a.memberID)
            w.writeBytes(a.assignment)
            w.writeTaggedFields(a.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// SyncGroup response (key 14), versions 0-5, flexible from 4.
public struct SyncGroupResponse: KafkaMessage, Equatable {
    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// The group protocol type (v5+, KIP-559), `nil` when unknown.
    public var protocolType: String?
    /// The group protocol name (v5+, KIP-559), `nil` when unknown.
    public var protocolName: String?
    /// This member's assignment (empty on error).
    public var assignment: ByteBuffer
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, protocolType: String? = nil,
                protocolName: String? = nil, assignment: ByteBuffer = ByteBuffer()) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignment = assignment
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        protocolType = version >= 5 ? try reader.readNullableString("protocol_type") : nil
        protocolName = version >= 5 ? try reader.readNullableString("protocol_name") : nil
        assignment = try reader.readBytes("assignment")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeInt16(errorCode.rawValue)
        if version >= 5 {
            writer.writeNullableString(protocolType)
            writer.writeNullableString(protocolName)
        }
        writer.writeBytes(assignment)
        writer.writeTaggedFields(taggedFields)
    }
}

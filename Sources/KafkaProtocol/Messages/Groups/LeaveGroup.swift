/// LeaveGroup request (key 13), versions 0-4, flexible from 4.
///
/// Two shapes share this type:
/// - v0-2: one leaving member in `memberID`; `members` is not on the wire.
/// - v3+: a batch in `members`, each identified by member ID and/or static instance ID
///   (KIP-345; an admin client removes static members with an empty member ID); `memberID` is not
///   on the wire.
///
/// A broker can normalise with ``leavingMembers(version:)``. (v5 adds a per-member `reason`; not
/// supported.)
public struct LeaveGroupRequest: KafkaRequest, Equatable {
    public typealias Response = LeaveGroupResponse
    public static let apiKey = ApiKey.leaveGroup

    /// One leaving member (v3+; Kafka's `MemberIdentity`).
    public struct Member: Equatable, Sendable {
        /// The member ID, "" when removing a static member by instance ID only.
        public var memberID: String
        /// The static member ID (KIP-345), `nil` for a dynamic member.
        public var groupInstanceID: String?
        public var taggedFields = TaggedFields()

        public init(memberID: String, groupInstanceID: String? = nil) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
        }
    }

    public var groupID: String
    /// The leaving member (v0-2 only).
    public var memberID: String
    /// The leaving members (v3+ only).
    public var members: [Member]
    public var taggedFields = TaggedFields()

    public init(groupID: String, memberID: String = "", members: [Member] = []) {
        self.groupID = groupID
        self.memberID = memberID
        self.members = members
    }

    /// The members leaving in `version`: one built from `memberID` before v3, `members` from v3.
    public func leavingMembers(version: Int16) -> [Member] {
        version >= 3 ? members : [Member(memberID: memberID)]
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString("group_id")
        if version <= 2 {
            memberID = try reader.readString("member_id")
            members = []
        } else {
            memberID = ""
            members = try reader.readArray("members") { r in
                var m = Member(memberID: try r.readString("member_id"),
                               groupInstanceID: try r.readNullableString("group_instance_id"))
                m.taggedFields = try r.readTaggedFields()
                return m
            }
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeString(groupID)
        if version <= 2 {
            writer.writeString(memberID)
        } else {
            writer.writeArray(members) { w, m in
                w.writeString(m.memberID)
                w.writeNullableString(m.groupInstanceID)
                w.writeTaggedFields(m.taggedFields)
            }
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// LeaveGroup response (key 13), versions 0-4, flexible from 4.
///
/// From v3 each leaving member gets its own result in `members`; the top-level `errorCode` is for
/// group-level errors (e.g. NOT_COORDINATOR).
public struct LeaveGroupResponse: KafkaMessage, Equatable {
    /// The result for one leaving member (v3+; Kafka's `MemberResponse`).
    public struct Member: Equatable, Sendable {
        public var memberID: String
        /// The static member ID (KIP-345), `nil` for a dynamic member.
        public var groupInstanceID: String?
        public var errorCode: ErrorCode
        public var taggedFields = TaggedFields()

        public init(memberID: String, groupInstanceID: String? = nil, errorCode: ErrorCode = .none) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
            self.errorCode = errorCode
        }
    }

    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// Per-member results (v3+ only).
    public var members: [Member]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, members: [Member] = []) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.members = members
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        members = version >= 3 ? try reader.readArray("members") { r in
            var m = Member(memberID: try r.readString("member_id"),
                           groupInstanceID: try r.readNullableString("group_instance_id"),
                           errorCode: ErrorCode(try r.readInt16("error_code")))
            m.taggedFields = try r.readTaggedFields()
            return m
        } : []
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeInt16(errorCode.rawValue)
        if version >= 3 {
            writer.writeArray(members) { w, m in
                w.writeString(m.memberID)
                w.writeNullableString(m.groupInstanceID)
                w.writeInt16(m.errorCode.rawValue)
                w.writeTaggedFields(m.taggedFields)
            }
        }
        writer.writeTaggedFields(taggedFields)
    }
}

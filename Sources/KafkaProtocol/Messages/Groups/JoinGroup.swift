import NIOCore

/// JoinGroup request (key 11), versions 0-7, flexible from 6.
///
/// From v4 a member joining with an empty `memberID` is answered MEMBER_ID_REQUIRED with its new
/// member ID and must join again with it (KIP-394). `groupInstanceID` (v5+) is the static member
/// identity of KIP-345. (v8 adds `reason`, v9 is the same as v8; neither is supported.)
public struct JoinGroupRequest: KafkaRequest, Equatable {
    public typealias Response = JoinGroupResponse
    public static let apiKey = ApiKey.joinGroup

    /// One assignment protocol the member supports, in the member's order of preference (Kafka's
    /// `JoinGroupRequestProtocol`; not named `Protocol` because `JoinGroupRequest.Protocol` would
    /// be read as a metatype, even with backticks).
    public struct SupportedProtocol: Equatable, Sendable {
        /// The protocol name (e.g. "range", "cooperative-sticky").
        public var name: String
        /// Opaque protocol metadata (for consumers, the subscription).
        public var metadata: ByteBuffer
        public var taggedFields = TaggedFields()

        public init(name: String, metadata: ByteBuffer) {
            self.name = name
            self.metadata = metadata
        }
    }

    public var groupID: String
    /// Milliseconds without a heartbeat after which the coordinator considers the member dead.
    public var sessionTimeoutMs: Int32
    /// Milliseconds the coordinator waits for every member to rejoin during a rebalance (v1+);
    /// -1 when absent (v0), in which case `sessionTimeoutMs` applies.
    public var rebalanceTimeoutMs: Int32
    /// The member ID assigned by the coordinator, "" on the first join.
    public var memberID: String
    /// The static member ID given by the user (v5+, KIP-345), `nil` for a dynamic member.
    public var groupInstanceID: String?
    /// The class of protocols (e.g. "consumer").
    public var protocolType: String
    public var protocols: [SupportedProtocol]
    public var taggedFields = TaggedFields()

    public init(groupID: String, sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32 = -1, memberID: String = "",
                groupInstanceID: String? = nil, protocolType: String, protocols: [SupportedProtocol]) {
        self.groupID = groupID
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.protocolType = protocolType
        self.protocols = protocols
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString("group_id")
        sessionTimeoutMs = try reader.readInt32("session_timeout_ms")
        rebalanceTimeoutMs = version >= 1 ? try reader.readInt32("rebalance_timeout_ms") : -1
        memberID = try reader.readString("member_id")
        groupInstanceID = version >= 5 ? try reader.readNullableString("group_instance_id") : nil
        protocolType = try reader.readString("protocol_type")
        protocols = try reader.readArray("protocols") { r in
            var p = SupportedProtocol(name: try r.readString("name"), metadata: try r.readBytes("metadata"))
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeString(groupID)
        writer.writeInt32(sessionTimeoutMs)
        if version >= 1 { writer.writeInt32(rebalanceTimeoutMs) }
        writer.writeString(memberID)
        if version >= 5 { writer.writeNullableString(groupInstanceID) }
        writer.writeString(protocolType)
        writer.writeArray(protocols) { w, p in
            w.writeString(p.name)
            w.writeBytes(p.metadata)
            w.writeTaggedFields(p.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// JoinGroup response (key 11), versions 0-7, flexible from 6.
///
/// Only the leader gets a non-empty `members`. `protocolType` is sent from v7 (KIP-559), placed
/// before `protocolName`; `protocolName` is nullable from v7 and a `nil` is written as "" before.
public struct JoinGroupResponse: KafkaMessage, Equatable {
    /// One member of the group, as sent to the leader.
    public struct Member: Equatable, Sendable {
        public var memberID: String
        /// The member's static ID (v5+, KIP-345), `nil` for a dynamic member.
        public var groupInstanceID: String?
        /// The member's metadata for the selected protocol.
        public var metadata: ByteBuffer
        public var taggedFields = TaggedFields()

        public init(memberID: String, groupInstanceID: String? = nil, metadata: ByteBuffer) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
            self.metadata = metadata
        }
    }

    /// Milliseconds the request was throttled (v2+).
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// The generation of the group, -1 on error.
    public var generationID: Int32
    /// The protocol type (v7+, KIP-559), `nil` when unknown.
    public var protocolType: String?
    /// The protocol the coordinator selected; nullable from v7, written as "" before.
    public var protocolName: String?
    /// The leader's member ID.
    public var leader: String
    /// The member ID assigned to the joining member.
    public var memberID: String
    /// Every member, for the leader only; empty for followers.
    public var members: [Member]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, generationID: Int32 = -1,
                protocolType: String? = nil, protocolName: String?, leader: String, memberID: String,
                members: [Member] = []) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.generationID = generationID
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.leader = leader
        self.memberID = memberID
        self.members = members
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 2 ? try reader.readInt32("throttle_time_ms") : 0
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        generationID = try reader.readInt32("generation_id")
        protocolType = version >= 7 ? try reader.readNullableString("protocol_type") : nil
        protocolName = version >= 7 ? try reader.readNullableString("protocol_name") : try reader.readString("protocol_name")
        leader = try reader.readString("leader")
        memberID = try reader.readString("member_id")
        members = try reader.readArray("members") { r in
            let memberID = try r.readString("member_id")
            let groupInstanceID = version >= 5 ? try r.readNullableString("group_instance_id") : nil
            var m = Member(memberID: memberID, groupInstanceID: groupInstanceID, metadata: try r.readBytes("metadata"))
            m.taggedFields = try r.readTaggedFields()
            return m
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 2 { writer.writeInt32(throttleTimeMs) }
        writer.writeInt16(errorCode.rawValue)
        writer.writeInt32(generationID)
        if version >= 7 {
            writer.writeNullableString(protocolType)
            writer.writeNullableString(protocolName)
        } else {
            writer.writeString(protocolName ?? "")
        }
        writer.writeString(leader)
        writer.writeString(memberID)
        writer.writeArray(members) { w, m in
            w.writeString(m.memberID)
            if version >= 5 { w.writeNullableString(m.groupInstanceID) }
            w.writeBytes(m.metadata)
            w.writeTaggedFields(m.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

import NIOCore

/// DescribeGroups request (key 15), versions 0-5, flexible from 5.
public struct DescribeGroupsRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeGroupsResponse
    public static let apiKey = ApiKey.describeGroups

    /// The IDs of the groups to describe.
    public var groups: [String]
    /// Whether to return each group's authorized operations (v3+).
    public var includeAuthorizedOperations: Bool
    public var taggedFields = TaggedFields()

    public init(groups: [String], includeAuthorizedOperations: Bool = false) {
        self.groups = groups
        self.includeAuthorizedOperations = includeAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groups = try reader.readArray("groups") { try $0.readString("groups") }
        includeAuthorizedOperations = version >= 3 ? try reader.readBool("include_authorized_operations") : false
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(groups) { $0.writeString($1) }
        if version >= 3 { writer.writeBool(includeAuthorizedOperations) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeGroups response (key 15), versions 0-5, flexible from 5.
///
/// Kafka fills `protocolData` and each member's metadata / assignment only for a Stable group, and
/// sends no members for a Dead group. `groupState` is a state name such as "Stable",
/// "PreparingRebalance", "CompletingRebalance", "Empty" or "Dead".
public struct DescribeGroupsResponse: KafkaMessage, Equatable {
    /// One member of a described group (Kafka's `DescribedGroupMember`).
    public struct Member: Equatable, Sendable {
        public var memberID: String
        /// The static member ID (v4+, KIP-345), `nil` for a dynamic member.
        public var groupInstanceID: String?
        /// The client ID of the member's latest JoinGroup.
        public var clientID: String
        /// The client host (Kafka sends "/" + the IP address).
        public var clientHost: String
        /// The member's metadata for the selected protocol.
        public var memberMetadata: ByteBuffer
        /// The member's current assignment from the leader.
        public var memberAssignment: ByteBuffer
        public var taggedFields = TaggedFields()

        public init(memberID: String, groupInstanceID: String? = nil, clientID: String, clientHost: String,
                    memberMetadata: ByteBuffer = ByteBuffer(), memberAssignment: ByteBuffer = ByteBuffer()) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
            self.clientID = clientID
            self.clientHost = clientHost
            self.memberMetadata = memberMetadata
            self.memberAssignment = memberAssignment
        }
    }

    /// One described group (Kafka's `DescribedGroup`).
    public struct Group: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var groupID: String
        /// The group state name, or "".
        public var groupState: String
        /// The protocol type (e.g. "consumer"), or "".
        public var protocolType: String
        /// The selected protocol name, or "".
        public var protocolData: String
        public var members: [Member]
        /// Authorized-operations bitfield (v3+); `Int32.min` when not requested.
        public var authorizedOperations: Int32
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, groupID: String, groupState: String = "", protocolType: String = "",
                    protocolData: String = "", members: [Member] = [], authorizedOperations: Int32 = Int32.min) {
            self.errorCode = errorCode
            self.groupID = groupID
            self.groupState = groupState
            self.protocolType = protocolType
            self.protocolData = protocolData
            self.members = members
            self.authorizedOperations = authorizedOperations
        }
    }

    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var groups: [Group]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, groups: [Group]) {
        self.throttleTimeMs = throttleTimeMs
        self.groups = groups
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        groups = try reader.readArray("groups") { r in
            let errorCode = ErrorCode(try r.readInt16("error_code"))
            let groupID = try r.readString("group_id")
            let groupState = try r.readString("group_state")
            let protocolType = try r.readString("protocol_type")
            let protocolData = try r.readString("protocol_data")
            let members = try r.readArray("members") { r in
                let memberID = try r.readString("member_id")
                let groupInstanceID = version >= 4 ? try r.readNullableString("group_instance_id") : nil
                var m = Member(memberID: memberID, groupInstanceID: groupInstanceID,
                               clientID: try r.readString("client_id"), clientHost: try r.readString("client_host"),
                               memberMetadata: try r.readBytes("member_metadata"),
                               memberAssignment: try r.readBytes("member_assignment"))
                m.taggedFields = try r.readTaggedFields()
                return m
            }
            let authorizedOperations = version >= 3 ? try r.readInt32("authorized_operations") : Int32.min
            var g = Group(errorCode: errorCode, groupID: groupID, groupState: groupState, protocolType: protocolType,
                          protocolData: protocolData, members: members, authorizedOperations: authorizedOperations)
            g.taggedFields = try r.readTaggedFields()
            return g
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeArray(groups) { w, g in
            w.writeInt16(g.errorCode.rawValue)
            w.writeString(g.groupID)
            w.writeString(g.groupState)
            w.writeString(g.protocolType)
            w.writeString(g.protocolData)
            w.writeArray(g.members) { w, m in
                w.writeString(m.memberID)
                if version >= 4 { w.writeNullableString(m.groupInstanceID) }
                w.writeString(m.clientID)
                w.writeString(m.clientHost)
                w.writeBytes(m.memberMetadata)
                w.writeBytes(m.memberAssignment)
                w.writeTaggedFields(m.taggedFields)
            }
            if version >= 3 { w.writeInt32(g.authorizedOperations) }
            w.writeTaggedFields(g.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// ListGroups request (key 16), versions 0-4, flexible from 3.
///
/// (v5 adds `typesFilter` for KIP-848; not supported.)
public struct ListGroupsRequest: KafkaRequest, Equatable {
    public typealias Response = ListGroupsResponse
    public static let apiKey = ApiKey.listGroups

    /// Group states to list (v4+, KIP-518); empty means every state.
    public var statesFilter: [String]
    public var taggedFields = TaggedFields()

    public init(statesFilter: [String] = []) {
        self.statesFilter = statesFilter
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        statesFilter = version >= 4 ? try reader.readArray("states_filter") { try $0.readString("states_filter") } : []
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 4 { writer.writeArray(statesFilter) { $0.writeString($1) } }
        writer.writeTaggedFields(taggedFields)
    }
}

/// ListGroups response (key 16), versions 0-4, flexible from 3.
public struct ListGroupsResponse: KafkaMessage, Equatable {
    /// One listed group (Kafka's `ListedGroup`).
    public struct Group: Equatable, Sendable {
        public var groupID: String
        /// The protocol type (e.g. "consumer"), "" for a group that only stores offsets.
        public var protocolType: String
        /// The group state name (v4+, KIP-518), "" before.
        public var groupState: String
        public var taggedFields = TaggedFields()

        public init(groupID: String, protocolType: String, groupState: String = "") {
            self.groupID = groupID
            self.protocolType = protocolType
            self.groupState = groupState
        }
    }

    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var groups: [Group]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, groups: [Group]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.groups = groups
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        groups = try reader.readArray("groups") { r in
            var g = Group(groupID: try r.readString("group_id"), protocolType: try r.readString("protocol_type"),
                          groupState: version >= 4 ? try r.readString("group_state") : "")
            g.taggedFields = try r.readTaggedFields()
            return g
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeInt16(errorCode.rawValue)
        writer.writeArray(groups) { w, g in
            w.writeString(g.groupID)
            w.writeString(g.protocolType)
            if version >= 4 { w.writeString(g.groupState) }
            w.writeTaggedFields(g.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

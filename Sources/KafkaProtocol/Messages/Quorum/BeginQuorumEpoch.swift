import NIOCore

/// BeginQuorumEpoch request (key 53), versions 0-1 as in Kafka 3.9; version 0 is not flexible,
/// version 1 is (KIP-853) and adds the top-level `VoterId`, each partition's `VoterDirectoryId` and
/// the untagged `LeaderEndpoints` array.
public struct BeginQuorumEpochRequest: KafkaRequest, Equatable {
    public typealias Response = BeginQuorumEpochResponse
    public static let apiKey = ApiKey.beginQuorumEpoch

    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// v1+: the directory id of the receiving voter; zero when unknown.
        public var voterDirectoryID: UUIDBytes
        /// The newly elected leader.
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, voterDirectoryID: UUIDBytes = zeroDirectoryID, leaderID: Int32, leaderEpoch: Int32) {
            self.partitionIndex = partitionIndex
            self.voterDirectoryID = voterDirectoryID
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }

    public var clusterID: String?
    /// v1+: the voter id of the receiving replica, -1 if unknown.
    public var voterID: Int32
    public var topics: [QuorumTopic<Partition>]
    /// v1+: the leader's listeners.
    public var leaderEndpoints: [QuorumListener]
    public var taggedFields = TaggedFields()

    public init(clusterID: String?, voterID: Int32 = -1, topics: [QuorumTopic<Partition>], leaderEndpoints: [QuorumListener] = []) {
        self.clusterID = clusterID
        self.voterID = voterID
        self.topics = topics
        self.leaderEndpoints = leaderEndpoints
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        clusterID = try reader.readNullableString("cluster_id")
        voterID = version >= 1 ? try reader.readInt32("voter_id") : -1
        topics = try reader.readTopics { r in
            let index = try r.readInt32("partition_index")
            let dir = version >= 1 ? try r.readUUID("voter_directory_id") : zeroDirectoryID
            var p = Partition(partitionIndex: index, voterDirectoryID: dir, leaderID: try r.readInt32("leader_id"),
                              leaderEpoch: try r.readInt32("leader_epoch"))
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        leaderEndpoints = version >= 1 ? try reader.readArray("leader_endpoints") { try $0.readListener() } : []
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeNullableString(clusterID)
        if version >= 1 { writer.writeInt32(voterID) }
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partitionIndex)
            if version >= 1 { w.writeUUID(p.voterDirectoryID) }
            w.writeInt32(p.leaderID)
            w.writeInt32(p.leaderEpoch)
            w.writeTaggedFields(p.taggedFields)
        }
        if version >= 1 { writer.writeArray(leaderEndpoints) { $0.writeListener($1) } }
        writer.writeTaggedFields(taggedFields)
    }
}

/// BeginQuorumEpoch response (key 53), versions 0-1 as in Kafka 3.9, flexible from 1; version 1
/// adds the tagged `NodeEndpoints` (tag 0, KIP-853). EndQuorumEpoch's response schema has the same
/// fields, so ``EndQuorumEpochResponse`` is this type.
public struct BeginQuorumEpochResponse: KafkaMessage, Equatable {
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        /// The current leader, -1 if unknown.
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, leaderID: Int32, leaderEpoch: Int32) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }

    public var errorCode: ErrorCode
    public var topics: [QuorumTopic<Partition>]
    /// v1+, tagged field 0; written only when non-empty.
    public var nodeEndpoints: [QuorumNodeEndpoint]
    /// Tagged fields other than `nodeEndpoints`.
    public var taggedFields = TaggedFields()

    public init(errorCode: ErrorCode = .none, topics: [QuorumTopic<Partition>], nodeEndpoints: [QuorumNodeEndpoint] = []) {
        self.errorCode = errorCode
        self.topics = topics
        self.nodeEndpoints = nodeEndpoints
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        topics = try reader.readTopics { r in
            var p = Partition(partitionIndex: try r.readInt32("partition_index"), errorCode: ErrorCode(try r.readInt16("error_code")),
                              leaderID: try r.readInt32("leader_id"), leaderEpoch: try r.readInt32("leader_epoch"))
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        taggedFields = try reader.readTaggedFields()
        nodeEndpoints = version >= 1 ? try taggedFields.takeNodeEndpoints() : []
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt16(errorCode.rawValue)
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partitionIndex)
            w.writeInt16(p.errorCode.rawValue)
            w.writeInt32(p.leaderID)
            w.writeInt32(p.leaderEpoch)
            w.writeTaggedFields(p.taggedFields)
        }
        writer.writeTaggedFields(version >= 1 ? taggedFields.withNodeEndpoints(nodeEndpoints) : taggedFields)
    }
}

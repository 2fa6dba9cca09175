import NIOCore

/// Vote request (key 52), versions 0-1 as in Kafka 3.9, flexible from 0 (KIP-595). Version 1 adds
/// the top-level `VoterId` and the candidate and voter directory ids (KIP-853). Kafka 3.9's schema
/// has no tagged fields in this request (KIP-996's `PreVote` is version 2, Kafka 4.0).
public struct VoteRequest: KafkaRequest, Equatable {
    public typealias Response = VoteResponse
    public static let apiKey = ApiKey.vote

    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// The bumped epoch of the candidate.
        public var candidateEpoch: Int32
        public var candidateID: Int32
        /// v1+; zero when unknown.
        public var candidateDirectoryID: UUIDBytes
        /// v1+: the directory id of the receiving voter; zero when unknown.
        public var voterDirectoryID: UUIDBytes
        /// Epoch of the candidate's last log record.
        public var lastOffsetEpoch: Int32
        /// Offset of the candidate's last log record.
        public var lastOffset: Int64
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, candidateEpoch: Int32, candidateID: Int32,
                    candidateDirectoryID: UUIDBytes = zeroDirectoryID, voterDirectoryID: UUIDBytes = zeroDirectoryID,
                    lastOffsetEpoch: Int32, lastOffset: Int64) {
            self.partitionIndex = partitionIndex
            self.candidateEpoch = candidateEpoch
            self.candidateID = candidateID
            self.candidateDirectoryID = candidateDirectoryID
            self.voterDirectoryID = voterDirectoryID
            self.lastOffsetEpoch = lastOffsetEpoch
            self.lastOffset = lastOffset
        }
    }

    public var clusterID: String?
    /// v1+: the voter id of the receiving replica, -1 if unknown.
    public var voterID: Int32
    public var topics: [QuorumTopic<Partition>]
    public var taggedFields = TaggedFields()

    public init(clusterID: String?, voterID: Int32 = -1, topics: [QuorumTopic<Partition>]) {
        self.clusterID = clusterID
        self.voterID = voterID
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        clusterID = try reader.readNullableString("cluster_id")
        voterID = version >= 1 ? try reader.readInt32("voter_id") : -1
        topics = try reader.readTopics { r in
            let index = try r.readInt32("partition_index")
            let epoch = try r.readInt32("candidate_epoch")
            let candidate = try r.readInt32("candidate_id")
            var candidateDir = zeroDirectoryID, voterDir = zeroDirectoryID
            if version >= 1 {
                candidateDir = try r.readUUID("candidate_directory_id")
                voterDir = try r.readUUID("voter_directory_id")
            }
            var p = Partition(partitionIndex: index, candidateEpoch: epoch, candidateID: candidate,
                              candidateDirectoryID: candidateDir, voterDirectoryID: voterDir,
                              lastOffsetEpoch: try r.readInt32("last_offset_epoch"), lastOffset: try r.readInt64("last_offset"))
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeNullableString(clusterID)
        if version >= 1 { writer.writeInt32(voterID) }
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partitionIndex)
            w.writeInt32(p.candidateEpoch)
            w.writeInt32(p.candidateID)
            if version >= 1 {
                w.writeUUID(p.candidateDirectoryID)
                w.writeUUID(p.voterDirectoryID)
            }
            w.writeInt32(p.lastOffsetEpoch)
            w.writeInt64(p.lastOffset)
            w.writeTaggedFields(p.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// Vote response (key 52), versions 0-1 as in Kafka 3.9, flexible from 0. Version 1 adds the tagged
/// `NodeEndpoints` (tag 0, KIP-853): the address of each leader named in the partitions.
public struct VoteResponse: KafkaMessage, Equatable {
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        /// The current leader, -1 if unknown.
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var voteGranted: Bool
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, leaderID: Int32, leaderEpoch: Int32, voteGranted: Bool) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.voteGranted = voteGranted
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
                              leaderID: try r.readInt32("leader_id"), leaderEpoch: try r.readInt32("leader_epoch"),
                              voteGranted: try r.readBool("vote_granted"))
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
            w.writeBool(p.voteGranted)
            w.writeTaggedFields(p.taggedFields)
        }
        writer.writeTaggedFields(version >= 1 ? taggedFields.withNodeEndpoints(nodeEndpoints) : taggedFields)
    }
}

import NIOCore

/// EndQuorumEpoch request (key 54), versions 0-1 as in Kafka 3.9; version 0 is not flexible and
/// lists `PreferredSuccessors` (voter ids); version 1 is flexible and replaces them with
/// `PreferredCandidates` (id + directory id), and adds the untagged `LeaderEndpoints` (KIP-853).
public struct EndQuorumEpochRequest: KafkaRequest, Equatable {
    public typealias Response = EndQuorumEpochResponse
    public static let apiKey = ApiKey.endQuorumEpoch

    /// `ReplicaInfo` (v1+).
    public struct Candidate: Equatable, Sendable {
        public var candidateID: Int32
        public var candidateDirectoryID: UUIDBytes
        public var taggedFields = TaggedFields()

        public init(candidateID: Int32, candidateDirectoryID: UUIDBytes = zeroDirectoryID) {
            self.candidateID = candidateID
            self.candidateDirectoryID = candidateDirectoryID
        }
    }

    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        /// The resigning leader.
        public var leaderID: Int32
        public var leaderEpoch: Int32
        /// v0 only: voters in preference order.
        public var preferredSuccessors: [Int32]
        /// v1+: voters in preference order.
        public var preferredCandidates: [Candidate]
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, leaderID: Int32, leaderEpoch: Int32,
                    preferredSuccessors: [Int32] = [], preferredCandidates: [Candidate] = []) {
            self.partitionIndex = partitionIndex
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.preferredSuccessors = preferredSuccessors
            self.preferredCandidates = preferredCandidates
        }
    }

    public var clusterID: String?
    public var topics: [QuorumTopic<Partition>]
    /// v1+: the leader's listeners.
    public var leaderEndpoints: [QuorumListener]
    public var taggedFields = TaggedFields()

    public init(clusterID: String?, topics: [QuorumTopic<Partition>], leaderEndpoints: [QuorumListener] = []) {
        self.clusterID = clusterID
        self.topics = topics
        self.leaderEndpoints = leaderEndpoints
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        clusterID = try reader.readNullableString("cluster_id")
        topics = try reader.readTopics { r in
            var p = Partition(partitionIndex: try r.readInt32("partition_index"), leaderID: try r.readInt32("leader_id"),
                              leaderEpoch: try r.readInt32("leader_epoch"))
            if version == 0 {
                p.preferredSuccessors = try r.readArray("preferred_successors") { try $0.readInt32("successor") }
            } else {
                p.preferredCandidates = try r.readArray("preferred_candidates") { r in
                    var c = Candidate(candidateID: try r.readInt32("candidate_id"),
                                      candidateDirectoryID: try r.readUUID("candidate_directory_id"))
                    c.taggedFields = try r.readTaggedFields()
                    return c
                }
            }
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        leaderEndpoints = version >= 1 ? try reader.readArray("leader_endpoints") { try $0.readListener() } : []
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeNullableString(clusterID)
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partitionIndex)
            w.writeInt32(p.leaderID)
            w.writeInt32(p.leaderEpoch)
            if version == 0 {
                w.writeArray(p.preferredSuccessors) { $0.writeInt32($1) }
            } else {
                w.writeArray(p.preferredCandidates) { w, c in
                    w.writeInt32(c.candidateID)
                    w.writeUUID(c.candidateDirectoryID)
                    w.writeTaggedFields(c.taggedFields)
                }
            }
            w.writeTaggedFields(p.taggedFields)
        }
        if version >= 1 { writer.writeArray(leaderEndpoints) { $0.writeListener($1) } }
        writer.writeTaggedFields(taggedFields)
    }
}

/// EndQuorumEpoch response (key 54), versions 0-1 as in Kafka 3.9, flexible from 1; its schema has
/// the same fields as BeginQuorumEpoch's response (error code, topics of partition index, error
/// code, leader id, leader epoch; tagged `NodeEndpoints` tag 0 from v1).
public typealias EndQuorumEpochResponse = BeginQuorumEpochResponse

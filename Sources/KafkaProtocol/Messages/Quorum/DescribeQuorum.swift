import NIOCore

/// DescribeQuorum request (key 55), versions 0-2 as in Kafka 3.9, flexible from 0. The request is
/// the same in every version (v1 and v2 only add response fields, KIP-836 and KIP-853).
public struct DescribeQuorumRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeQuorumResponse
    public static let apiKey = ApiKey.describeQuorum

    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32) { self.partitionIndex = partitionIndex }
    }

    public var topics: [QuorumTopic<Partition>]
    public var taggedFields = TaggedFields()

    public init(topics: [QuorumTopic<Partition>]) { self.topics = topics }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readTopics { r in
            var p = Partition(partitionIndex: try r.readInt32("partition_index"))
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partitionIndex)
            w.writeTaggedFields(p.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeQuorum response (key 55), versions 0-2 as in Kafka 3.9, flexible from 0. v1 adds the
/// replicas' last fetch and caught-up timestamps (KIP-836); v2 adds the error messages, each
/// replica's directory id and the untagged `Nodes` array (KIP-853).
public struct DescribeQuorumResponse: KafkaMessage, Equatable {
    /// `ReplicaState`.
    public struct ReplicaState: Equatable, Sendable {
        public var replicaID: Int32
        /// v2+.
        public var replicaDirectoryID: UUIDBytes
        /// The last known log end offset of the replica.
        public var logEndOffset: Int64
        /// v1+: last fetch time in ms, -1 if unknown.
        public var lastFetchTimestamp: Int64
        /// v1+: when the replica last caught up with the leader, -1 if unknown.
        public var lastCaughtUpTimestamp: Int64
        public var taggedFields = TaggedFields()

        public init(replicaID: Int32, replicaDirectoryID: UUIDBytes = zeroDirectoryID, logEndOffset: Int64,
                    lastFetchTimestamp: Int64 = -1, lastCaughtUpTimestamp: Int64 = -1) {
            self.replicaID = replicaID
            self.replicaDirectoryID = replicaDirectoryID
            self.logEndOffset = logEndOffset
            self.lastFetchTimestamp = lastFetchTimestamp
            self.lastCaughtUpTimestamp = lastCaughtUpTimestamp
        }
    }

    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        /// v2+.
        public var errorMessage: String?
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var highWatermark: Int64
        public var currentVoters: [ReplicaState]
        public var observers: [ReplicaState]
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, errorMessage: String? = nil, leaderID: Int32,
                    leaderEpoch: Int32, highWatermark: Int64, currentVoters: [ReplicaState], observers: [ReplicaState]) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.highWatermark = highWatermark
            self.currentVoters = currentVoters
            self.observers = observers
        }
    }

    /// `Node` (v2+): a node id and its listeners.
    public struct Node: Equatable, Sendable {
        public var nodeID: Int32
        public var listeners: [QuorumListener]
        public var taggedFields = TaggedFields()

        public init(nodeID: Int32, listeners: [QuorumListener]) {
            self.nodeID = nodeID
            self.listeners = listeners
        }
    }

    public var errorCode: ErrorCode
    /// v2+.
    public var errorMessage: String?
    public var topics: [QuorumTopic<Partition>]
    /// v2+.
    public var nodes: [Node]
    public var taggedFields = TaggedFields()

    public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, topics: [QuorumTopic<Partition>], nodes: [Node] = []) {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.topics = topics
        self.nodes = nodes
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        errorMessage = version >= 2 ? try reader.readNullableString("error_message") : nil
        let readReplica: (inout KafkaReader) throws -> ReplicaState = { r in
            let id = try r.readInt32("replica_id")
            let dir = version >= 2 ? try r.readUUID("replica_directory_id") : zeroDirectoryID
            var s = ReplicaState(replicaID: id, replicaDirectoryID: dir, logEndOffset: try r.readInt64("log_end_offset"))
            if version >= 1 {
                s.lastFetchTimestamp = try r.readInt64("last_fetch_timestamp")
                s.lastCaughtUpTimestamp = try r.readInt64("last_caught_up_timestamp")
            }
            s.taggedFields = try r.readTaggedFields()
            return s
        }
        topics = try reader.readTopics { r in
            let index = try r.readInt32("partition_index")
            let code = ErrorCode(try r.readInt16("error_code"))
            let message = version >= 2 ? try r.readNullableString("error_message") : nil
            var p = Partition(partitionIndex: index, errorCode: code, errorMessage: message, leaderID: try r.readInt32("leader_id"),
                              leaderEpoch: try r.readInt32("leader_epoch"), highWatermark: try r.readInt64("high_watermark"),
                              currentVoters: try r.readArray("current_voters", readReplica),
                              observers: try r.readArray("observers", readReplica))
            p.taggedFields = try r.readTaggedFields()
            return p
        }
        nodes = version >= 2 ? try reader.readArray("nodes") { r in
            var n = Node(nodeID: try r.readInt32("node_id"), listeners: try r.readArray("listeners") { try $0.readListener() })
            n.taggedFields = try r.readTaggedFields()
            return n
        } : []
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt16(errorCode.rawValue)
        if version >= 2 { writer.writeNullableString(errorMessage) }
        let writeReplica: (inout KafkaWriter, ReplicaState) -> Void = { w, s in
            w.writeInt32(s.replicaID)
            if version >= 2 { w.writeUUID(s.replicaDirectoryID) }
            w.writeInt64(s.logEndOffset)
            if version >= 1 {
                w.writeInt64(s.lastFetchTimestamp)
                w.writeInt64(s.lastCaughtUpTimestamp)
            }
            w.writeTaggedFields(s.taggedFields)
        }
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partitionIndex)
            w.writeInt16(p.errorCode.rawValue)
            if version >= 2 { w.writeNullableString(p.errorMessage) }
            w.writeInt32(p.leaderID)
            w.writeInt32(p.leaderEpoch)
            w.writeInt64(p.highWatermark)
            w.writeArray(p.currentVoters, writeReplica)
            w.writeArray(p.observers, writeReplica)
            w.writeTaggedFields(p.taggedFields)
        }
        if version >= 2 {
            writer.writeArray(nodes) { w, n in
                w.writeInt32(n.nodeID)
                w.writeArray(n.listeners) { $0.writeListener($1) }
                w.writeTaggedFields(n.taggedFields)
            }
        }
        writer.writeTaggedFields(taggedFields)
    }
}

import NIOCore

/// `SnapshotId` of FetchSnapshot: a snapshot's end offset and epoch.
public struct SnapshotID: Equatable, Sendable {
    public var endOffset: Int64
    public var epoch: Int32
    public var taggedFields = TaggedFields()

    public init(endOffset: Int64, epoch: Int32) {
        self.endOffset = endOffset
        self.epoch = epoch
    }
}

extension KafkaReader {
    mutating func readSnapshotID() throws -> SnapshotID {
        var s = SnapshotID(endOffset: try readInt64("end_offset"), epoch: try readInt32("epoch"))
        s.taggedFields = try readTaggedFields()
        return s
    }
}

extension KafkaWriter {
    mutating func writeSnapshotID(_ s: SnapshotID) {
        writeInt64(s.endOffset); writeInt32(s.epoch)
        writeTaggedFields(s.taggedFields)
    }
}

/// FetchSnapshot request (key 59), versions 0-1 as in Kafka 3.9, flexible from 0 (KIP-630).
/// `ClusterId` is tagged field 0 of the request (all versions); version 1 adds each partition's
/// `ReplicaDirectoryId` as that partition's tagged field 0 (KIP-853).
public struct FetchSnapshotRequest: KafkaRequest, Equatable {
    public typealias Response = FetchSnapshotResponse
    public static let apiKey = ApiKey.fetchSnapshot

    public struct Partition: Equatable, Sendable {
        public var partition: Int32
        public var currentLeaderEpoch: Int32
        public var snapshotID: SnapshotID
        /// Byte position within the snapshot to fetch from.
        public var position: Int64
        /// v1+, tagged field 0; written only when non-zero.
        public var replicaDirectoryID: UUIDBytes
        /// Tagged fields other than `replicaDirectoryID`.
        public var taggedFields = TaggedFields()

        public init(partition: Int32, currentLeaderEpoch: Int32, snapshotID: SnapshotID, position: Int64,
                    replicaDirectoryID: UUIDBytes = zeroDirectoryID) {
            self.partition = partition
            self.currentLeaderEpoch = currentLeaderEpoch
            self.snapshotID = snapshotID
            self.position = position
            self.replicaDirectoryID = replicaDirectoryID
        }
    }

    /// Tagged field 0; written only when non-null.
    public var clusterID: String?
    /// The fetching broker, -1 for consumers.
    public var replicaID: Int32
    public var maxBytes: Int32
    public var topics: [QuorumTopic<Partition>]
    /// Tagged fields other than `clusterID`.
    public var taggedFields = TaggedFields()

    public init(clusterID: String? = nil, replicaID: Int32 = -1, maxBytes: Int32 = Int32.max, topics: [QuorumTopic<Partition>]) {
        self.clusterID = clusterID
        self.replicaID = replicaID
        self.maxBytes = maxBytes
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = try reader.readInt32("replica_id")
        maxBytes = try reader.readInt32("max_bytes")
        topics = try reader.readTopics { r in
            var p = Partition(partition: try r.readInt32("partition"), currentLeaderEpoch: try r.readInt32("current_leader_epoch"),
                              snapshotID: try r.readSnapshotID(), position: try r.readInt64("position"))
            p.taggedFields = try r.readTaggedFields()
            if version >= 1, let raw = p.taggedFields.remove(0) {
                p.replicaDirectoryID = try KafkaReader.decodeTaggedValue(raw, field: "replica_directory_id") { try $0.readUUID() }
            }
            return p
        }
        taggedFields = try reader.readTaggedFields()
        clusterID = nil
        if let raw = taggedFields.remove(0) {
            clusterID = try KafkaReader.decodeTaggedValue(raw, field: "cluster_id") { try $0.readNullableString() }
        }
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(replicaID)
        writer.writeInt32(maxBytes)
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.partition)
            w.writeInt32(p.currentLeaderEpoch)
            w.writeSnapshotID(p.snapshotID)
            w.writeInt64(p.position)
            var tags = p.taggedFields
            if version >= 1, p.replicaDirectoryID != zeroDirectoryID {
                tags = tags.setting(0) { $0.writeUUID(p.replicaDirectoryID) }
            }
            w.writeTaggedFields(tags)
        }
        var tags = taggedFields
        if let clusterID { tags = tags.setting(0) { $0.writeString(clusterID) } }
        writer.writeTaggedFields(tags)
    }
}

/// FetchSnapshot response (key 59), versions 0-1 as in Kafka 3.9, flexible from 0 (KIP-630). Each
/// partition's `CurrentLeader` is its tagged field 0 (all versions); version 1 adds the top-level
/// tagged `NodeEndpoints` (tag 0, KIP-853).
public struct FetchSnapshotResponse: KafkaMessage, Equatable {
    /// `LeaderIdAndEpoch`; the schema gives no defaults, so (0, 0) is the default that Kafka omits.
    public struct LeaderIDAndEpoch: Equatable, Sendable {
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(leaderID: Int32 = 0, leaderEpoch: Int32 = 0) {
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }

    public struct Partition: Equatable, Sendable {
        public var index: Int32
        public var errorCode: ErrorCode
        public var snapshotID: SnapshotID
        /// Tagged field 0; written only when it differs from the default.
        public var currentLeader: LeaderIDAndEpoch
        /// Total size of the snapshot.
        public var size: Int64
        /// Starting byte position of `unalignedRecords` within the snapshot.
        public var position: Int64
        /// Snapshot bytes (`records` type: compact bytes in the flexible encoding).
        public var unalignedRecords: ByteBuffer
        /// Tagged fields other than `currentLeader`.
        public var taggedFields = TaggedFields()

        public init(index: Int32, errorCode: ErrorCode = .none, snapshotID: SnapshotID, currentLeader: LeaderIDAndEpoch = .init(),
                    size: Int64, position: Int64, unalignedRecords: ByteBuffer) {
            self.index = index
            self.errorCode = errorCode
            self.snapshotID = snapshotID
            self.currentLeader = currentLeader
            self.size = size
            self.position = position
            self.unalignedRecords = unalignedRecords
        }
    }

    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var topics: [QuorumTopic<Partition>]
    /// v1+, tagged field 0; written only when non-empty.
    public var nodeEndpoints: [QuorumNodeEndpoint]
    /// Tagged fields other than `nodeEndpoints`.
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, topics: [QuorumTopic<Partition>],
                nodeEndpoints: [QuorumNodeEndpoint] = []) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.topics = topics
        self.nodeEndpoints = nodeEndpoints
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        topics = try reader.readTopics { r in
            let index = try r.readInt32("index")
            let code = ErrorCode(try r.readInt16("error_code"))
            let snapshot = try r.readSnapshotID()
            var p = Partition(index: index, errorCode: code, snapshotID: snapshot, size: try r.readInt64("size"),
                              position: try r.readInt64("position"), unalignedRecords: try r.readBytes("unaligned_records"))
            p.taggedFields = try r.readTaggedFields()
            if let raw = p.taggedFields.remove(0) {
                p.currentLeader = try KafkaReader.decodeTaggedValue(raw, field: "current_leader") { r in
                    var l = LeaderIDAndEpoch(leaderID: try r.readInt32("leader_id"), leaderEpoch: try r.readInt32("leader_epoch"))
                    l.taggedFields = try r.readTaggedFields()
                    return l
                }
            }
            return p
        }
        taggedFields = try reader.readTaggedFields()
        nodeEndpoints = version >= 1 ? try taggedFields.takeNodeEndpoints() : []
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeTopics(topics) { w, p in
            w.writeInt32(p.index)
            w.writeInt16(p.errorCode.rawValue)
            w.writeSnapshotID(p.snapshotID)
            w.writeInt64(p.size)
            w.writeInt64(p.position)
            w.writeBytes(p.unalignedRecords)
            var tags = p.taggedFields
            if p.currentLeader != LeaderIDAndEpoch() {
                tags = tags.setting(0) { w in
                    w.writeInt32(p.currentLeader.leaderID)
                    w.writeInt32(p.currentLeader.leaderEpoch)
                    w.writeTaggedFields(p.currentLeader.taggedFields)
                }
            }
            w.writeTaggedFields(tags)
        }
        writer.writeTaggedFields(version >= 1 ? taggedFields.withNodeEndpoints(nodeEndpoints) : taggedFields)
    }
}

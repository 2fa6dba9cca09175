import NIOCore

/// Fetch request (key 1), versions 0-12, flexible from 12 (KIP-74 byte limits, KIP-227 sessions).
///
/// v0-2 have no response-wide `max_bytes` (decoded as `Int32.max`), v0-3 no `isolation_level`
/// (READ_UNCOMMITTED). Byte limits are in bytes, waits in milliseconds. `clusterID` is tagged field 0 (v12+) and is written
/// only when non-null; other tagged fields stay raw in `taggedFields`.
public struct FetchRequest: KafkaRequest, Equatable {
    public typealias Response = FetchResponse
    public static let apiKey = ApiKey.fetch

    /// One partition to fetch.
    public struct Partition: Equatable, Sendable {
        public var partition: Int32
        /// Fencing epoch (v9+), -1 when not known.
        public var currentLeaderEpoch: Int32
        /// First offset to fetch.
        public var fetchOffset: Int64
        /// Epoch of the last fetched record (v12+), -1 when none.
        public var lastFetchedEpoch: Int32
        /// Follower's log start offset (v5+), -1 for consumers.
        public var logStartOffset: Int64
        /// Maximum bytes to return for this partition.
        public var partitionMaxBytes: Int32
        public var taggedFields = TaggedFields()

        public init(partition: Int32, currentLeaderEpoch: Int32 = -1, fetchOffset: Int64, lastFetchedEpoch: Int32 = -1,
                    logStartOffset: Int64 = -1, partitionMaxBytes: Int32) {
            self.partition = partition
            self.currentLeaderEpoch = currentLeaderEpoch
            self.fetchOffset = fetchOffset
            self.lastFetchedEpoch = lastFetchedEpoch
            self.logStartOffset = logStartOffset
            self.partitionMaxBytes = partitionMaxBytes
        }
    }

    /// One topic to fetch.
    public struct Topic: Equatable, Sendable {
        public var topic: String
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [Partition]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Partitions to drop from an incremental fetch session (v7+).
    public struct ForgottenTopic: Equatable, Sendable {
        public var topic: String
        public var partitions: [Int32]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [Int32]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Cluster ID if known (tagged field 0, v12+).
    public var clusterID: String?
    /// Follower broker ID, or -1 for a consumer.
    public var replicaID: Int32
    /// Maximum milliseconds to wait for `minBytes`.
    public var maxWaitMs: Int32
    /// Minimum bytes to accumulate before answering.
    public var minBytes: Int32
    /// Maximum bytes for the whole response (v3+).
    public var maxBytes: Int32
    /// 0 = READ_UNCOMMITTED, 1 = READ_COMMITTED (v4+).
    public var isolationLevel: Int8
    /// Fetch session ID (v7+), 0 for none.
    public var sessionID: Int32
    /// Fetch session epoch (v7+), -1 for a full fetch without a session.
    public var sessionEpoch: Int32
    public var topics: [Topic]
    /// Partitions to remove from the session (v7+).
    public var forgottenTopicsData: [ForgottenTopic]
    /// Consumer rack (v11+).
    public var rackID: String
    public var taggedFields = TaggedFields()

    public init(clusterID: String? = nil, replicaID: Int32 = -1, maxWaitMs: Int32, minBytes: Int32,
                maxBytes: Int32 = Int32.max, isolationLevel: Int8 = 0, sessionID: Int32 = 0, sessionEpoch: Int32 = -1,
                topics: [Topic], forgottenTopicsData: [ForgottenTopic] = [], rackID: String = "") {
        self.clusterID = clusterID
        self.replicaID = replicaID
        self.maxWaitMs = maxWaitMs
        self.minBytes = minBytes
        self.maxBytes = maxBytes
        self.isolationLevel = isolationLevel
        self.sessionID = sessionID
        self.sessionEpoch = sessionEpoch
        self.topics = topics
        self.forgottenTopicsData = forgottenTopicsData
        self.rackID = rackID
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = try reader.readInt32("replica_id")
        maxWaitMs = try reader.readInt32("max_wait_ms")
        minBytes = try reader.readInt32("min_bytes")
        maxBytes = version >= 3 ? try reader.readInt32("max_bytes") : Int32.max
        isolationLevel = version >= 4 ? try reader.readInt8("isolation_level") : 0
        sessionID = version >= 7 ? try reader.readInt32("session_id") : 0
        sessionEpoch = version >= 7 ? try reader.readInt32("session_epoch") : -1
        topics = try reader.readArray("topics") { r in
            let name = try r.readString("topic")
            let partitions = try r.readArray("partitions") { r in
                var p = Partition(
                    partition: try r.readInt32("partition"),
                    currentLeaderEpoch: version >= 9 ? try r.readInt32("current_leader_epoch") : -1,
                    fetchOffset: try r.readInt64("fetch_offset"),
                    lastFetchedEpoch: version >= 12 ? try r.readInt32("last_fetched_epoch") : -1,
                    logStartOffset: version >= 5 ? try r.readInt64("log_start_offset") : -1,
                    partitionMaxBytes: try r.readInt32("partition_max_bytes"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(topic: name, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        if version >= 7 {
            forgottenTopicsData = try reader.readArray("forgotten_topics_data") { r in
                var f = ForgottenTopic(topic: try r.readString("topic"),
                                       partitions: try r.readArray("partitions") { try $0.readInt32() })
                f.taggedFields = try r.readTaggedFields()
                return f
            }
        } else {
            forgottenTopicsData = []
        }
        rackID = version >= 11 ? try reader.readString("rack_id") : ""
        var tagged = try reader.readTaggedFields()
        if let raw = tagged.remove(0) {
            clusterID = try KafkaReader.decodeTaggedValue(raw, field: "cluster_id") { try $0.readNullableString("cluster_id") }
        } else {
            clusterID = nil
        }
        taggedFields = tagged
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(replicaID)
        writer.writeInt32(maxWaitMs)
        writer.writeInt32(minBytes)
        if version >= 3 { writer.writeInt32(maxBytes) }
        if version >= 4 { writer.writeInt8(isolationLevel) }
        if version >= 7 {
            writer.writeInt32(sessionID)
            writer.writeInt32(sessionEpoch)
        }
        writer.writeArray(topics) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partition)
                if version >= 9 { w.writeInt32(p.currentLeaderEpoch) }
                w.writeInt64(p.fetchOffset)
                if version >= 12 { w.writeInt32(p.lastFetchedEpoch) }
                if version >= 5 { w.writeInt64(p.logStartOffset) }
                w.writeInt32(p.partitionMaxBytes)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        if version >= 7 {
            writer.writeArray(forgottenTopicsData) { w, f in
                w.writeString(f.topic)
                w.writeArray(f.partitions) { $0.writeInt32($1) }
                w.writeTaggedFields(f.taggedFields)
            }
        }
        if version >= 11 { writer.writeString(rackID) }
        var tagged = taggedFields
        if version >= 12, let clusterID {
            tagged = tagged.setting(0) { $0.writeNullableString(clusterID) }
        }
        writer.writeTaggedFields(tagged)
    }
}

/// Fetch response (key 1), versions 0-12, flexible from 12.
///
/// v0 starts with the topics; v1+ with `throttle_time_ms`; `last_stable_offset` and
/// `aborted_transactions` come in v4, `log_start_offset` in v5. For v0-3 `records` holds a legacy
/// message set (magic 0 for v0-1, magic 1 for v2-3), from v4 RecordBatch v2. `records` is never null on the wire from Runnel: an empty buffer is written as zero-length bytes,
/// and a null from a peer decodes as empty. Tagged fields `divergingEpoch` (0), `currentLeader` (1)
/// and `snapshotID` (2) of a partition are written only when they differ from their defaults.
public struct FetchResponse: KafkaMessage, Equatable {
    /// Largest epoch and its end offset where the follower's log diverges (tagged 0, v12+).
    public struct EpochEndOffset: Equatable, Sendable {
        public var epoch: Int32
        public var endOffset: Int64
        public var taggedFields = TaggedFields()

        public init(epoch: Int32 = -1, endOffset: Int64 = -1) {
            self.epoch = epoch
            self.endOffset = endOffset
        }
    }

    /// Current leader hint (tagged 1, v12+).
    public struct LeaderIDAndEpoch: Equatable, Sendable {
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(leaderID: Int32 = -1, leaderEpoch: Int32 = -1) {
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }

    /// Snapshot to fetch instead (tagged 2, v12+). Note the wire order: end offset, then epoch.
    public struct SnapshotID: Equatable, Sendable {
        public var endOffset: Int64
        public var epoch: Int32
        public var taggedFields = TaggedFields()

        public init(endOffset: Int64 = -1, epoch: Int32 = -1) {
            self.endOffset = endOffset
            self.epoch = epoch
        }
    }

    /// An aborted transaction overlapping the returned records (v4+).
    public struct AbortedTransaction: Equatable, Sendable {
        public var producerID: Int64
        public var firstOffset: Int64
        public var taggedFields = TaggedFields()

        public init(producerID: Int64, firstOffset: Int64) {
            self.producerID = producerID
            self.firstOffset = firstOffset
        }
    }

    /// Result for one partition.
    public struct PartitionData: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        public var highWatermark: Int64
        /// Last stable offset (v4+), -1 when unknown.
        public var lastStableOffset: Int64
        /// Log start offset (v5+), -1 when unknown.
        public var logStartOffset: Int64
        public var divergingEpoch: EpochEndOffset
        public var currentLeader: LeaderIDAndEpoch
        public var snapshotID: SnapshotID
        /// Aborted transactions (v4+); `nil` is the null marker (READ_UNCOMMITTED).
        public var abortedTransactions: [AbortedTransaction]?
        /// Preferred read replica (v11+), -1 for none.
        public var preferredReadReplica: Int32
        /// Raw record batches; empty when there is no data.
        public var records: ByteBuffer
        /// Set instead of ``records`` (which is then empty) by a broker that sends the record
        /// set from its segment file; encoded by length, the bytes as a part of their own
        /// (``KafkaWriter/writeExternalRecords(_:)``). Never set by decoding.
        public var externalRecords: ExternalRecords?
        public var taggedFields = TaggedFields()

        /// Bytes in the record set, whichever way it is held.
        public var recordsByteCount: Int { externalRecords?.byteCount ?? records.readableBytes }

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, highWatermark: Int64,
                    lastStableOffset: Int64 = -1, logStartOffset: Int64 = -1,
                    divergingEpoch: EpochEndOffset = EpochEndOffset(), currentLeader: LeaderIDAndEpoch = LeaderIDAndEpoch(),
                    snapshotID: SnapshotID = SnapshotID(), abortedTransactions: [AbortedTransaction]? = nil,
                    preferredReadReplica: Int32 = -1, records: ByteBuffer = ByteBuffer()) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
            self.highWatermark = highWatermark
            self.lastStableOffset = lastStableOffset
            self.logStartOffset = logStartOffset
            self.divergingEpoch = divergingEpoch
            self.currentLeader = currentLeader
            self.snapshotID = snapshotID
            self.abortedTransactions = abortedTransactions
            self.preferredReadReplica = preferredReadReplica
            self.records = records
        }
    }

    /// Results for one topic.
    public struct TopicResponse: Equatable, Sendable {
        public var topic: String
        public var partitions: [PartitionData]
        public var taggedFields = TaggedFields()

        public init(topic: String, partitions: [PartitionData]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    /// Top-level error (v7+), e.g. a fetch-session error.
    public var errorCode: ErrorCode
    /// Fetch session ID (v7+), 0 for none.
    public var sessionID: Int32
    public var responses: [TopicResponse]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, sessionID: Int32 = 0,
                responses: [TopicResponse]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.sessionID = sessionID
        self.responses = responses
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        errorCode = version >= 7 ? ErrorCode(try reader.readInt16("error_code")) : .none
        sessionID = version >= 7 ? try reader.readInt32("session_id") : 0
        responses = try reader.readArray("responses") { r in
            let topic = try r.readString("topic")
            let partitions = try r.readArray("partitions") { r in try Self.readPartition(&r, version: version) }
            var t = TopicResponse(topic: topic, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    private static func readPartition(_ r: inout KafkaReader, version: Int16) throws -> PartitionData {
        var p = PartitionData(
            partitionIndex: try r.readInt32("partition_index"),
            errorCode: ErrorCode(try r.readInt16("error_code")),
            highWatermark: try r.readInt64("high_watermark"),
            lastStableOffset: version >= 4 ? try r.readInt64("last_stable_offset") : -1,
            logStartOffset: version >= 5 ? try r.readInt64("log_start_offset") : -1)
        if version >= 4 {
            p.abortedTransactions = try r.readNullableArray("aborted_transactions") { r in
                var a = AbortedTransaction(producerID: try r.readInt64("producer_id"),
                                           firstOffset: try r.readInt64("first_offset"))
                a.taggedFields = try r.readTaggedFields()
                return a
            }
        }
        p.preferredReadReplica = version >= 11 ? try r.readInt32("preferred_read_replica") : -1
        p.records = try r.readNullableBytes("records") ?? ByteBuffer()
        var tagged = try r.readTaggedFields()
        if let raw = tagged.remove(0) {
            p.divergingEpoch = try KafkaReader.decodeTaggedValue(raw, field: "diverging_epoch") { r in
                var v = EpochEndOffset(epoch: try r.readInt32("epoch"), endOffset: try r.readInt64("end_offset"))
                v.taggedFields = try r.readTaggedFields()
                return v
            }
        }
        if let raw = tagged.remove(1) {
            p.currentLeader = try KafkaReader.decodeTaggedValue(raw, field: "current_leader") { r in
                var v = LeaderIDAndEpoch(leaderID: try r.readInt32("leader_id"), leaderEpoch: try r.readInt32("leader_epoch"))
                v.taggedFields = try r.readTaggedFields()
                return v
            }
        }
        if let raw = tagged.remove(2) {
            p.snapshotID = try KafkaReader.decodeTaggedValue(raw, field: "snapshot_id") { r in
                var v = SnapshotID(endOffset: try r.readInt64("end_offset"), epoch: try r.readInt32("epoch"))
                v.taggedFields = try r.readTaggedFields()
                return v
            }
        }
        p.taggedFields = tagged
        return p
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        if version >= 7 {
            writer.writeInt16(errorCode.rawValue)
            writer.writeInt32(sessionID)
        }
        writer.writeArray(responses) { w, t in
            w.writeString(t.topic)
            w.writeArray(t.partitions) { w, p in Self.writePartition(p, to: &w, version: version) }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }

    private static func writePartition(_ p: PartitionData, to w: inout KafkaWriter, version: Int16) {
        w.writeInt32(p.partitionIndex)
        w.writeInt16(p.errorCode.rawValue)
        w.writeInt64(p.highWatermark)
        if version >= 4 { w.writeInt64(p.lastStableOffset) }
        if version >= 5 { w.writeInt64(p.logStartOffset) }
        if version >= 4 {
            w.writeNullableArray(p.abortedTransactions) { w, a in
                w.writeInt64(a.producerID)
                w.writeInt64(a.firstOffset)
                w.writeTaggedFields(a.taggedFields)
            }
        }
        if version >= 11 { w.writeInt32(p.preferredReadReplica) }
        if let external = p.externalRecords {
            w.writeExternalRecords(external)
        } else {
            w.writeBytes(p.records)
        }
        var tagged = p.taggedFields
        if version >= 12 {
            if p.divergingEpoch != EpochEndOffset() {
                tagged = tagged.setting(0) { w in
                    w.writeInt32(p.divergingEpoch.epoch)
                    w.writeInt64(p.divergingEpoch.endOffset)
                    w.writeTaggedFields(p.divergingEpoch.taggedFields)
                }
            }
            if p.currentLeader != LeaderIDAndEpoch() {
                tagged = tagged.setting(1) { w in
                    w.writeInt32(p.currentLeader.leaderID)
                    w.writeInt32(p.currentLeader.leaderEpoch)
                    w.writeTaggedFields(p.currentLeader.taggedFields)
                }
            }
            if p.snapshotID != SnapshotID() {
                tagged = tagged.setting(2) { w in
                    w.writeInt64(p.snapshotID.endOffset)
                    w.writeInt32(p.snapshotID.epoch)
                    w.writeTaggedFields(p.snapshotID.taggedFields)
                }
            }
        }
        w.writeTaggedFields(tagged)
    }
}

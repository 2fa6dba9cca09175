#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Replication
import SystemPackage

/// Names a partition: topic and index.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    /// The directory name `<topic>-<partition>` (Kafka's layout).
    public var directoryName: String { "\(topic)-\(partition)" }
    public var description: String { directoryName }
}

/// The one owner of a partition's mutable state on this broker: its log, its part in replication
/// (leader with follower progress, ISR and high watermark, or follower of another broker), the
/// fetches waiting for new data and the acks=all produces waiting for the high watermark.
///
/// A standalone broker's partitions have one replica, which leads with itself as the ISR, so the
/// high watermark moves with the log end offset after every append.
actor Partition {
    let topicPartition: TopicPartition
    let topicID: UUIDBytes
    /// This broker's id (`node.id`).
    let brokerID: Int32
    let log: Log
    /// The leader epoch the metadata gives this partition: stamped into appended batches when
    /// leading, and checked against the `current_leader_epoch` of requests (KIP-320).
    var leaderEpoch: Int32
    /// Whether this replica leads or follows, with the leader's replication state.
    var role: ReplicaRole
    /// What a follower learned of the leader's high watermark (bounded by its own log end offset);
    /// the high watermark it starts from if it becomes leader.
    var followerHighWatermark: Int64
    /// The leader's high watermark from the last fetch response, unbounded by the local log (-1: none yet).
    var leaderHighWatermarkSeen: Int64 = -1
    /// min.insync.replicas and replica.lag.time.max.ms for this partition.
    var replication: ReplicationSettings
    /// Timestamp rules, storage codec and LogAppendTime of this partition's topic.
    private(set) var appendPolicy: AppendPolicy
    /// Consumer fetches waiting for the high watermark to move (the fetch purgatory).
    var waiters: [AppendSignal] = []
    /// Follower fetches waiting for the log end offset to move.
    var replicaWaiters: [AppendSignal] = []
    /// acks=all produces waiting for the high watermark to pass their batch (the produce purgatory).
    var commitWaiters: [CommitWaiter] = []
    var nextCommitWaiterID: UInt64 = 0
    /// This topic's byte and record counters, looked up once; nil in tests that do not look.
    private let counters: BrokerMetrics.TopicCounters?
    /// Syncs the log off this actor: `flush.messages`/`flush.ms` in the background and, with
    /// `runnel.flush.on.ack`, before produce responses (``LogFlusher``). Produce handlers wait on
    /// it directly, without holding the actor.
    let flusher: LogFlusher
    /// Starts the page cache's writeback of appended bytes early (``PartitionWriteback``).
    let writeback = PartitionWriteback()
    /// Set by ``close()``; the cleaner leaves a closed partition alone.
    var closed = false

    /// Opens or creates the partition directory under `logDirectory`, recovering its log and
    /// writing `partition.metadata`, then takes the role `assignment` gives this broker.
    /// - Parameters:
    ///   - assignment: the partition's replicas, ISR, leader and epochs from the metadata; nil for
    ///     a single replica led by this broker in `leaderEpoch`.
    ///   - highWatermark: the checkpointed high watermark (`replication-offset-checkpoint`), if any.
    init(topicPartition: TopicPartition, topicID: UUIDBytes, leaderEpoch: Int32, logDirectory: FilePath,
         config: LogConfig, appendPolicy: AppendPolicy, loadOptions: Log.LoadOptions = Log.LoadOptions(), logger: Logger,
         metrics: BrokerMetrics? = nil, brokerID: Int32 = 0, assignment: MetadataImage.PartitionImage? = nil,
         highWatermark: Int64? = nil, replication: ReplicationSettings = ReplicationSettings()) throws {
        self.topicPartition = topicPartition
        self.topicID = topicID
        self.brokerID = brokerID
        self.appendPolicy = appendPolicy
        self.replication = replication
        self.counters = metrics?.counters(topicPartition.topic)
        let directory = logDirectory.appending(topicPartition.directoryName)
        var options = loadOptions
        // A roll's fsyncs go to the flusher's thread pool instead of holding the actor (see RolledSegmentSync).
        options.defersRollSync = true
        let log = try Log(directory: directory, config: config, logger: logger, options: options)
        try PartitionMetadataFile.write(topicID: topicID, directory: directory)
        self.log = log
        let onSync: @Sendable (LogFlusher.SyncReport) -> Void = { report in metrics?.logFlushed(report) }
        self.flusher = LogFlusher(durableOffset: log.logEndOffset, policy: LogFlusher.Policy(config), runner: LogFlushPool.runner,
                                  directoryHealth: loadOptions.directoryHealth, onSync: onSync)
        self.recoveredBytesAtLoad = log.recoveredBytes
        let assigned = assignment ?? MetadataImage.PartitionImage(partitionID: topicPartition.partition, replicas: [brokerID], isr: [brokerID],
                                                                  leader: brokerID, leaderEpoch: leaderEpoch, partitionEpoch: 0)
        let startHighWatermark = min(highWatermark ?? (assignment == nil ? log.logEndOffset : 0), log.logEndOffset)
        self.followerHighWatermark = startHighWatermark
        self.leaderEpoch = assigned.leaderEpoch
        if assigned.leader == brokerID {
            try log.assignLeaderEpoch(assigned.leaderEpoch)
            var state = PartitionLeader(brokerID: brokerID, leaderEpoch: assigned.leaderEpoch, partitionEpoch: assigned.partitionEpoch,
                                        replicas: assigned.replicas, isr: Set(assigned.isr), logEndOffset: log.logEndOffset,
                                        highWatermark: startHighWatermark, nowMs: Self.monotonicMs(),
                                        replicaLagTimeMaxMs: replication.replicaLagTimeMaxMs, minISR: replication.minInsyncReplicas)
            state.leaderAppended(logEndOffset: log.logEndOffset)
            self.role = .leader(state)
        } else {
            self.role = .follower(leader: assigned.leader, needsTruncation: true)
        }
    }

    var logEndOffset: Int64 { log.logEndOffset }
    /// Bytes of the partition's segments.
    var sizeBytes: Int64 { log.sizeBytes }
    /// Segments of the partition's log.
    var segmentCount: Int { log.segmentCount }
    /// Bytes scanned by recovery when the log was opened.
    nonisolated let recoveredBytesAtLoad: Int64
    /// Fetches waiting for an append (the fetch purgatory of this partition).
    var waitingFetches: Int { waiters.count + replicaWaiters.count }
    var logStartOffset: Int64 { log.logStartOffset }
    /// The offset below which every record is on the ISR (the leader's), or what the follower last
    /// heard from its leader. Consumers read below it only.
    var highWatermark: Int64 {
        if case .leader(let state) = role { return state.highWatermark }
        return followerHighWatermark
    }
    /// No transactions yet: the last stable offset is the high watermark.
    var lastStableOffset: Int64 { highWatermark }
    /// Whether this replica leads the partition.
    var isLeader: Bool {
        if case .leader = role { return true }
        return false
    }

    /// The outcome of a successful append.
    struct AppendResult: Sendable {
        var baseOffset: Int64
        /// The offset of the batch's last record (acks=all waits for the high watermark to pass it).
        var lastOffset: Int64
        /// Broker time stamped into the batch for LogAppendTime topics, else -1.
        var logAppendTimeMs: Int64
        var logStartOffset: Int64
        /// With `runnel.flush.on.ack`: the flusher an acks=1/all response waits on until the
        /// batch is synced (``LogFlusher/waitUntilFlushed(through:)`` with `lastOffset + 1`).
        var durability: LogFlusher?
    }

    /// Validates and appends one produced record set, applying the topic's ``AppendPolicy``
    /// (timestamp bounds, `compression.type`, LogAppendTime). An idempotent producer's exact retry
    /// of one of its last 5 batches is answered with the original offsets and not appended (KIP-98).
    /// - Parameter requiredAcks: the produce's acks; -1 (all) is refused before the append when the
    ///   committed ISR is smaller than `min.insync.replicas`.
    /// - Throws: ``NotLeaderError`` when this replica does not lead, ``ReplicationError``
    ///   (NOT_ENOUGH_REPLICAS), ``RecordValidationError``, ``ProducerStateError``
    ///   (INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER), ``CompressionError`` or ``StorageError``.
    func append(_ records: ByteBuffer, nowMs: Int64, origin: AppendOrigin = .client, requiredAcks: Int16 = 1) throws -> AppendResult {
        guard case .leader(let state) = role else { throw NotLeaderError(topicPartition: topicPartition) }
        if requiredAcks == -1 { try state.checkEnoughReplicas() }
        var header = try RecordBatchValidator.validateProduced(records, maxBatchBytes: config.maxMessageBytes)
        if header.isControl, origin == .client {
            // Kafka's LogValidator: only the broker writes transaction markers.
            throw RecordValidationError(.invalidRecord, "Clients are not allowed to write control records")
        }
        if header.producerID >= 0, header.baseSequence < 0 {
            // Kafka's LogValidator: an idempotent batch must carry a sequence number.
            throw RecordValidationError(.invalidRecord, "batch of producer \(header.producerID) has no base sequence")
        }
        let durability = config.flushOnAck ? flusher : nil
        if let duplicate = try log.checkProducer(header) {
            // The original may not be synced yet: a retry waits for it like the original.
            return AppendResult(baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTimeMs: appendPolicy.logAppendTime ? duplicate.maxTimestamp : -1,
                                logStartOffset: log.logStartOffset, durability: durability)
        }
        var bytes = records
        try appendPolicy.apply(to: &bytes, header: &header, requireKeys: config.compactEnabled,
                               maxBatchBytes: config.maxMessageBytes, nowMs: nowMs)
        let appendTime: Int64 = appendPolicy.logAppendTime ? nowMs : -1
        let base = try log.append(bytes, header: header, leaderEpoch: leaderEpoch)
        counters?.recordProduced(bytes: bytes.readableBytes, records: Int(header.recordsCount))
        flusher.rolled(log.takeRolledSegmentSyncs())
        flusher.appended(through: log.logEndOffset, handle: try syncHandleIfSyncing())
        writeback.appended(bytes: bytes.readableBytes) { try log.activeSyncHandle() }
        leaderLogAdvanced()
        return AppendResult(baseOffset: base, lastOffset: base + Int64(header.lastOffsetDelta), logAppendTimeMs: appendTime,
                            logStartOffset: log.logStartOffset, durability: durability)
    }

    /// What a fetch of one partition returns.
    struct ReadResult: Sendable {
        var records: ByteBuffer
        /// Set instead of `records` (then empty) when the batches stay in their segment file
        /// (``Log/readForSending(from:maxBytes:upperBound:fileAtLeast:)``).
        var file: FileRecords?
        var highWatermark: Int64
        var lastStableOffset: Int64
        var logStartOffset: Int64
    }

    /// Reads batches from `offset` up to the high watermark (consumers) or the log end (replicas).
    /// - Parameters:
    ///   - maxBytes: byte limit of the read. A `maxBytes` of 0 (the fetch's byte budget is spent)
    ///     checks the offset and returns no records without touching the segments.
    ///   - oversizedFirstBatch: whether a first batch larger than `maxBytes` is still returned
    ///     (KIP-74: only for the first partition of a fetch that returns data); otherwise such a
    ///     read returns no records.
    ///   - requireLeader: whether only a leader may answer (client and follower fetches); the
    ///     group coordinator reading its own partition passes false.
    ///   - fileAtLeast: for a consumer's read, a range of at least this many bytes whose pages
    ///     are cached may come back as ``ReadResult/file`` to be sent with `sendfile` (nil: always
    ///     in memory). Replicas always read into memory: a follower's fetch goes up to the log
    ///     end, which a leader change can truncate while the response is still being sent.
    /// - Throws: ``NotLeaderError`` when `requireLeader` and this replica follows; ``StorageError``
    ///   (OFFSET_OUT_OF_RANGE when outside the log).
    /// Consumer reads count the records returned in the topic's bytes-out and records-out metrics.
    func read(from offset: Int64, maxBytes: Int, isReplica: Bool, oversizedFirstBatch: Bool = true,
              requireLeader: Bool = true, fileAtLeast: Int? = nil) throws -> ReadResult {
        if requireLeader, !isLeader { throw NotLeaderError(topicPartition: topicPartition) }
        let bound = isReplica ? log.logEndOffset : highWatermark
        var result = ReadResult(records: ByteBuffer(), highWatermark: highWatermark, lastStableOffset: lastStableOffset,
                                logStartOffset: log.logStartOffset)
        if maxBytes > 0 {
            if let fileAtLeast, !isReplica {
                switch try log.readForSending(from: offset, maxBytes: maxBytes, upperBound: bound, fileAtLeast: fileAtLeast) {
                case .bytes(let bytes): result.records = bytes
                case .file(let file): result.file = file
                }
            } else {
                result.records = try log.read(from: offset, maxBytes: maxBytes, upperBound: bound)
            }
            let byteCount = result.file?.byteCount ?? result.records.readableBytes
            if !oversizedFirstBatch, byteCount > maxBytes {
                result.records = ByteBuffer()
                result.file = nil
            }
            if !isReplica, let counters {
                if let file = result.file {
                    counters.recordFetched(bytes: file.byteCount, records: file.recordCount)
                } else if result.records.readableBytes > 0 {
                    counters.recordFetched(bytes: result.records.readableBytes, records: result.records.recordBatchRecordCount)
                }
            }
        } else if offset < log.logStartOffset || offset > log.logEndOffset {
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset)
        }
        return result
    }

    /// Forgets idempotent producers idle for `producer.id.expiration.ms`.
    func removeExpiredProducers(nowMs: Int64, expirationMs: Int64) {
        log.removeExpiredProducers(nowMs: nowMs, expirationMs: expirationMs)
    }

    /// Registers a fetch waiting for the next append or high watermark move; fired at once if
    /// data is already past `offset` (the log end for a follower's fetch, else the high watermark).
    func register(_ signal: AppendSignal, ifNoDataAfter offset: Int64, isReplica: Bool = false) {
        if (isReplica ? log.logEndOffset : highWatermark) > offset { signal.fire(); return }
        if isReplica { replicaWaiters.append(signal) } else { waiters.append(signal) }
    }

    func unregister(_ signal: AppendSignal) {
        waiters.removeAll { $0 === signal }
        replicaWaiters.removeAll { $0 === signal }
    }

    /// KIP-320/KIP-101 fencing of a client's `current_leader_epoch`: -1 skips the check. A replica
    /// that does not lead answers NOT_LEADER_OR_FOLLOWER whatever the epoch.
    func checkLeaderEpoch(_ requested: Int32) -> ErrorCode {
        guard isLeader else { return .notLeaderOrFollower }
        if requested == -1 || requested == leaderEpoch { return .none }
        return requested < leaderEpoch ? .fencedLeaderEpoch : .unknownLeaderEpoch
    }

    func offsetForTimestamp(_ target: Int64) throws -> Log.TimestampAndOffset? {
        try log.offsetForTimestamp(target, upperBound: highWatermark)
    }

    func maxTimestampRecord() throws -> Log.TimestampAndOffset? {
        try log.maxTimestampRecord(upperBound: highWatermark)
    }

    /// OffsetForLeaderEpoch: the end offset of `epoch` in this log (KIP-101, KIP-279).
    func endOffset(forLeaderEpoch epoch: Int32) -> (epoch: Int32, endOffset: Int64) {
        log.leaderEpochCache.endOffset(for: epoch, logEndOffset: log.logEndOffset)
    }

    /// DeleteRecords (KIP-107): moves the log start offset up to `offset` and returns the new log
    /// start offset (the low watermark). -1 means the high watermark. Checked and applied in one actor
    /// turn, so the high watermark cannot move in between.
    /// - Throws: ``StorageError/offsetOutOfRange(requested:logStartOffset:logEndOffset:)`` when `offset`
    ///   is below -1 or above the high watermark; otherwise what the log throws.
    func deleteRecords(beforeOffset offset: Int64) throws -> Int64 {
        guard isLeader else { throw NotLeaderError(topicPartition: topicPartition) }
        guard config.deleteEnabled else {
            // Kafka: records of a topic whose cleanup.policy lacks `delete` cannot be deleted.
            throw RecordValidationError(.policyViolation, "Records of topic \(topicPartition.topic) with cleanup.policy=compact cannot be deleted")
        }
        let target = offset == -1 ? highWatermark : offset
        guard target >= 0, target <= highWatermark else {
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: log.logStartOffset, logEndOffset: highWatermark)
        }
        return try log.deleteRecords(beforeOffset: target)
    }

    /// Runs the retention rules and removes expired `.deleted` files.
    /// - Returns: segments deleted.
    func applyRetention() throws -> Int {
        let deleted = try log.deleteOldSegments(highWatermark: highWatermark)
        log.removeDeletedFiles(nowMs: Log.steadyWallClockMs())
        return deleted.values.reduce(0, +)
    }

    // MARK: Log compaction

    /// Applies changed topic or broker configs (AlterConfigs, IncrementalAlterConfigs): later
    /// appends, rolls, retention and cleaning use them.
    func reconfigure(_ config: LogConfig, appendPolicy: AppendPolicy, replication: ReplicationSettings? = nil) {
        log.updateConfig(config)
        flusher.update(policy: LogFlusher.Policy(config))
        self.appendPolicy = appendPolicy
        if let replication {
            self.replication = replication
            if case .leader(var state) = role {
                state.minISR = replication.minInsyncReplicas
                state.replicaLagTimeMaxMs = replication.replicaLagTimeMaxMs
                role = .leader(state)
            }
        }
    }

    /// The active segment for ``flusher``, when this log's policy syncs at all (`flush.messages`,
    /// `flush.ms` or `runnel.flush.on.ack` set): otherwise no descriptor is duplicated.
    /// - Throws: ``StorageError`` when the descriptor cannot be duplicated (EMFILE).
    func syncHandleIfSyncing() throws -> SegmentSyncHandle? {
        let c = log.config
        guard c.flushOnAck || c.flushIntervalMessages != .max || c.flushIntervalMs != .max else { return nil }
        return try log.activeSyncHandle()
    }

    /// The log's settings (`cleanup.policy`, `min.cleanable.dirty.ratio`, ...).
    var logConfig: LogConfig { log.config }
    /// The log's settings; the log is their one owner.
    private var config: LogConfig { log.config }

    /// The cleanable dirty ratio from `firstDirtyOffset` (0 once the partition is closed).
    func dirtyRatio(firstDirtyOffset: Int64, nowMs: Int64) -> Double {
        closed ? 0 : log.dirtyRatio(firstDirtyOffset: firstDirtyOffset, nowMs: nowMs)
    }

    /// What the cleaner works on off this actor, or `nil` when nothing is cleanable.
    func cleanerSnapshot(firstDirtyOffset: Int64, nowMs: Int64) -> CleanerSnapshot? {
        closed ? nil : log.cleanerSnapshot(firstDirtyOffset: firstDirtyOffset, nowMs: nowMs)
    }

    /// Swaps cleaned segments in (one actor turn: no append or fetch sees a half-swapped log).
    /// - Returns: false when the log changed meanwhile or the partition was closed; the cleaned
    ///   files are then discarded.
    func swapIn(_ cleaned: CleanedLog) throws -> Bool {
        guard !closed else { cleaned.discard(); return false }
        return try log.swapIn(cleaned)
    }

    /// Offset below which everything is on disk, for `recovery-point-offset-checkpoint`: it moves
    /// past a rolled segment once the flusher has synced it.
    var recoveryPoint: Int64 {
        for offset in flusher.takeSyncedRolls() { log.rolledSegmentSynced(through: offset) }
        return log.recoveryPoint
    }

    /// Forces the log to disk (the recovery point becomes the log end offset).
    func flush() throws {
        try flusher.syncPendingRolls()
        try log.flush()
    }

    func close() {
        closed = true
        wakeFetches()
        failCommitWaiters(.notLeaderOrFollower)
        let flushed: Int64? = (try? flusher.syncPendingRolls()) != nil && (try? log.flush()) != nil ? log.logEndOffset : nil
        flusher.close(durableThrough: flushed)
        log.close()
    }
}

/// Who is appending (Kafka's `AppendOrigin`): clients may not write control batches.
enum AppendOrigin: Sendable {
    /// A producer's request.
    case client
    /// The broker itself (a coordinator writing its own records).
    case coordinator
}

/// `partition.metadata` in each partition directory: `version: 0` and `topic_id: <base64 id>` (KIP-516).
enum PartitionMetadataFile {
    static func write(topicID: UUIDBytes, directory: FilePath) throws {
        let path = directory.appending("partition.metadata").string
        let text = "version: 0\ntopic_id: \(topicID)\n"
        if MetaProperties.readText(path) == text { return }
        guard let file = fopen(path + ".tmp", "w") else { throw StorageError.io(operation: "open", path: path, errno: .init(rawValue: errno)) }
        fputs(text, file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        guard rename(path + ".tmp", path) == 0 else { throw StorageError.io(operation: "rename", path: path, errno: .init(rawValue: errno)) }
    }
}

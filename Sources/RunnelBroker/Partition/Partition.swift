#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
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

/// The one owner of a partition's mutable state on this broker: its log, leader epoch and the
/// fetches waiting for new data. With a single broker this replica is always the leader and the
/// ISR is itself, so the high watermark equals the log end offset after every append.
actor Partition {
    let topicPartition: TopicPartition
    let topicID: UUIDBytes
    private let log: Log
    private(set) var leaderEpoch: Int32
    /// Timestamp rules, storage codec and LogAppendTime of this partition's topic.
    private(set) var appendPolicy: AppendPolicy
    private var waiters: [AppendSignal] = []
    /// This topic's byte and record counters, looked up once; nil in tests that do not look.
    private let counters: BrokerMetrics.TopicCounters?
    /// Set by ``close()``; the cleaner leaves a closed partition alone.
    private var closed = false

    /// Opens or creates the partition directory under `logDirectory`, recovering its log,
    /// writing `partition.metadata` and recording `leaderEpoch` in the epoch history.
    init(topicPartition: TopicPartition, topicID: UUIDBytes, leaderEpoch: Int32, logDirectory: FilePath,
         config: LogConfig, appendPolicy: AppendPolicy, loadOptions: Log.LoadOptions = Log.LoadOptions(), logger: Logger,
         metrics: BrokerMetrics? = nil) throws {
        self.topicPartition = topicPartition
        self.topicID = topicID
        self.leaderEpoch = leaderEpoch
        self.appendPolicy = appendPolicy
        self.counters = metrics?.counters(topicPartition.topic)
        let directory = logDirectory.appending(topicPartition.directoryName)
        let log = try Log(directory: directory, config: config, logger: logger, options: loadOptions)
        try PartitionMetadataFile.write(topicID: topicID, directory: directory)
        try log.assignLeaderEpoch(leaderEpoch)
        self.log = log
        self.recoveredBytesAtLoad = log.recoveredBytes
    }

    var logEndOffset: Int64 { log.logEndOffset }
    /// Bytes of the partition's segments.
    var sizeBytes: Int64 { log.sizeBytes }
    /// Segments of the partition's log.
    var segmentCount: Int { log.segmentCount }
    /// Bytes scanned by recovery when the log was opened.
    nonisolated let recoveredBytesAtLoad: Int64
    /// Fetches waiting for an append (the fetch purgatory of this partition).
    var waitingFetches: Int { waiters.count }
    var logStartOffset: Int64 { log.logStartOffset }
    /// Single replica: everything appended is committed.
    var highWatermark: Int64 { log.logEndOffset }
    /// No transactions yet: the last stable offset is the high watermark.
    var lastStableOffset: Int64 { highWatermark }

    /// The outcome of a successful append.
    struct AppendResult: Sendable {
        var baseOffset: Int64
        /// Broker time stamped into the batch for LogAppendTime topics, else -1.
        var logAppendTimeMs: Int64
        var logStartOffset: Int64
    }

    /// Validates and appends one produced record set, applying the topic's ``AppendPolicy``
    /// (timestamp bounds, `compression.type`, LogAppendTime). An idempotent producer's exact retry
    /// of one of its last 5 batches is answered with the original offsets and not appended (KIP-98).
    /// - Throws: ``RecordValidationError``, ``ProducerStateError`` (INVALID_PRODUCER_EPOCH,
    ///   OUT_OF_ORDER_SEQUENCE_NUMBER), ``CompressionError`` or ``StorageError``.
    func append(_ records: ByteBuffer, nowMs: Int64, origin: AppendOrigin = .client) throws -> AppendResult {
        var header = try RecordBatchValidator.validateProduced(records, maxBatchBytes: config.maxMessageBytes)
        if header.isControl, origin == .client {
            // Kafka's LogValidator: only the broker writes transaction markers.
            throw RecordValidationError(.invalidRecord, "Clients are not allowed to write control records")
        }
        if header.producerID >= 0, header.baseSequence < 0 {
            // Kafka's LogValidator: an idempotent batch must carry a sequence number.
            throw RecordValidationError(.invalidRecord, "batch of producer \(header.producerID) has no base sequence")
        }
        if let duplicate = try log.checkProducer(header) {
            return AppendResult(baseOffset: duplicate.firstOffset, logAppendTimeMs: appendPolicy.logAppendTime ? duplicate.maxTimestamp : -1,
                                logStartOffset: log.logStartOffset)
        }
        var bytes = records
        try appendPolicy.apply(to: &bytes, header: &header, requireKeys: config.compactEnabled,
                               maxBatchBytes: config.maxMessageBytes, nowMs: nowMs)
        let appendTime: Int64 = appendPolicy.logAppendTime ? nowMs : -1
        let base = try log.append(bytes, header: header, leaderEpoch: leaderEpoch)
        counters?.recordProduced(bytes: bytes.readableBytes, records: Int(header.recordsCount))
        let signals = waiters
        waiters.removeAll()
        for s in signals { s.fire() }
        return AppendResult(baseOffset: base, logAppendTimeMs: appendTime, logStartOffset: log.logStartOffset)
    }

    /// What a fetch of one partition returns.
    struct ReadResult: Sendable {
        var records: ByteBuffer
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
    /// - Throws: ``StorageError`` (OFFSET_OUT_OF_RANGE when outside the log).
    /// Consumer reads count the records returned in the topic's bytes-out and records-out metrics.
    func read(from offset: Int64, maxBytes: Int, isReplica: Bool, oversizedFirstBatch: Bool = true) throws -> ReadResult {
        let bound = isReplica ? log.logEndOffset : highWatermark
        var records = ByteBuffer()
        if maxBytes > 0 {
            records = try log.read(from: offset, maxBytes: maxBytes, upperBound: bound)
            if !oversizedFirstBatch, records.readableBytes > maxBytes { records = ByteBuffer() }
            if !isReplica, let counters, records.readableBytes > 0 {
                counters.recordFetched(bytes: records.readableBytes, records: records.recordBatchRecordCount)
            }
        } else if offset < log.logStartOffset || offset > log.logEndOffset {
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset)
        }
        return ReadResult(records: records, highWatermark: highWatermark, lastStableOffset: lastStableOffset,
                          logStartOffset: log.logStartOffset)
    }

    /// Forgets idempotent producers idle for `producer.id.expiration.ms`.
    func removeExpiredProducers(nowMs: Int64, expirationMs: Int64) {
        log.removeExpiredProducers(nowMs: nowMs, expirationMs: expirationMs)
    }

    /// Registers a fetch waiting for the next append; fired at once if data is already past `offset`.
    func register(_ signal: AppendSignal, ifNoDataAfter offset: Int64) {
        if highWatermark > offset { signal.fire(); return }
        waiters.append(signal)
    }

    func unregister(_ signal: AppendSignal) {
        waiters.removeAll { $0 === signal }
    }

    /// KIP-320/KIP-101 fencing of a client's `current_leader_epoch`: -1 skips the check.
    func checkLeaderEpoch(_ requested: Int32) -> ErrorCode {
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
    /// Takes the leader epoch the metadata gives this replica (a new epoch after the leader
    /// changed or returned): later batches carry it, the epoch history records where it starts,
    /// and requests naming an older epoch get FENCED_LEADER_EPOCH (KIP-101, KIP-320).
    /// - Throws: ``StorageError`` when `leader-epoch-checkpoint` cannot be written.
    func becomeLeader(epoch: Int32) throws {
        guard epoch > leaderEpoch else { return }
        leaderEpoch = epoch
        try log.assignLeaderEpoch(epoch)
    }

    func reconfigure(_ config: LogConfig, appendPolicy: AppendPolicy) {
        log.updateConfig(config)
        self.appendPolicy = appendPolicy
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

    /// Offset below which everything is on disk, for `recovery-point-offset-checkpoint`.
    var recoveryPoint: Int64 { log.recoveryPoint }

    /// Forces the log to disk (the recovery point becomes the log end offset).
    func flush() throws { try log.flush() }

    func close() {
        closed = true
        for s in waiters { s.fire() }
        waiters.removeAll()
        try? log.flush()
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

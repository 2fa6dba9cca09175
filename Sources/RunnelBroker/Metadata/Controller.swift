import Foundation
import KafkaProtocol
import LogStorage
import Logging
import SystemPackage

/// The single node's controller: owns the metadata log and image and the partitions hosted here.
///
/// Every topic change is appended to the metadata log (fsynced) before the image and the
/// partition map change, so what a client was told exists survives a crash.
actor Controller {
    /// The effective broker configuration: the static one with the dynamic configs of the
    /// metadata image layered over it (``BrokerConfig/applyingDynamic(clusterDefaults:broker:)``).
    var config: BrokerConfig
    let nodeID: Int32
    let clusterID: String
    let logDirectory: FilePath
    let metadataLog: MetadataLog
    var image: MetadataImage
    /// Producer ids reserved in the metadata log and not handed out yet.
    var producerIDBlock: Range<Int64> = 0..<0
    var partitions: [TopicPartition: Partition] = [:]
    /// `cleaner-offset-checkpoint`: per partition, the offset below which the log is compacted.
    private var cleanerOffsets: [TopicPartition: Int64] = [:]
    let logger: Logger
    /// Where partitions count appends and reads; nil in tests that do not look.
    let metrics: BrokerMetrics?

    /// Loads `meta.properties`, replays the metadata log and recovers every partition log.
    /// - Throws: ``ConfigError``, ``StorageError`` or ``ProtocolError`` when the directory is unusable.
    init(config staticConfig: BrokerConfig, logger: Logger, metrics: BrokerMetrics? = nil) throws {
        var config = staticConfig
        self.metrics = metrics
        self.logger = logger
        self.nodeID = config.nodeID
        let directory = FilePath(config.logDirectory)
        self.logDirectory = directory
        try FileManager.default.createDirectory(atPath: directory.string, withIntermediateDirectories: true)
        let meta = try MetaProperties.loadOrCreate(directory: directory.string, nodeID: config.nodeID)
        self.clusterID = meta.clusterID
        let metadataLog = try MetadataLog(logDirectory: directory, logger: logger)
        self.metadataLog = metadataLog
        let image = try metadataLog.replay()
        self.image = image
        config = Self.effectiveConfig(staticConfig, image: image, nodeID: config.nodeID)
        self.config = config
        Self.removeDeletedDirectories(directory, logger: logger)
        let state = try LogDirectoryState.load(directory: directory)
        logger.info(state.cleanShutdown ? "clean shutdown marker found: trusting segments and indexes"
                                        : "no clean shutdown marker: recovering segments after each recovery point",
                    metadata: ["log.dirs": "\(directory)"])
        var opened: [TopicPartition: Partition] = [:]
        let total = image.topics.values.reduce(0) { $0 + $1.partitions.count }
        var progress = RecoveryProgress(total: total, logger: logger, metrics: metrics)
        for topic in image.topics.values {
            for p in topic.partitions.values {
                let tp = TopicPartition(topic.name, p.partitionID)
                let options = Log.LoadOptions(recoveryPoint: state.recoveryPoints[tp.directoryName], cleanShutdown: state.cleanShutdown,
                                              logStartOffset: state.logStartOffsets[tp.directoryName],
                                              maxOpenInactiveSegments: config.int("runnel.log.max.open.segments"))
                opened[tp] = try Partition(topicPartition: tp, topicID: topic.topicID, leaderEpoch: p.leaderEpoch,
                                           logDirectory: directory, config: config.logConfig(topicOverrides: topic.configs),
                                           appendPolicy: config.appendPolicy(topicOverrides: topic.configs),
                                           loadOptions: options, logger: logger, metrics: metrics)
                progress.loaded(tp, scannedBytes: opened[tp]!.recoveredBytesAtLoad)
            }
        }
        progress.finish()
        self.partitions = opened
        do {
            let checkpoint = try OffsetCheckpointFile.read(directory: directory, name: OffsetCheckpointFile.cleanerOffset)
            for tp in opened.keys { if let offset = checkpoint[tp.directoryName] { cleanerOffsets[tp] = offset } }
        } catch {
            logger.warning("ignoring an unreadable cleaner-offset-checkpoint; compacted logs are cleaned from their start",
                           metadata: ["error": "\(error)"])
        }
        // From here on a crash is unclean again.
        try LogDirectoryState.removeCleanShutdownMarker(directory: directory)
        logger.info("loaded metadata", metadata: ["topics": "\(image.topics.count)", "partitions": "\(opened.count)",
                                                   "cluster.id": "\(meta.clusterID)", "node.id": "\(config.nodeID)"])
    }

    func partition(_ tp: TopicPartition) -> Partition? { partitions[tp] }

    /// Every partition hosted here.
    var partitionsHosted: [Partition] { Array(partitions.values) }

    /// The outcome of creating one topic.
    struct CreateTopicResult: Sendable {
        var errorCode: ErrorCode
        var errorMessage: String?
        var numPartitions: Int32
        var replicationFactor: Int16
        var topicID: UUIDBytes
        /// The topic's effective configs (override or broker default).
        var configs: [String: String]
        /// The keys of `configs` that the request set explicitly.
        var overriddenKeys: Set<String> = []
    }

    /// Creates a topic (CreateTopics, auto-creation).
    /// - Parameters:
    ///   - numPartitions: -1 means `num.partitions` (KIP-464).
    ///   - replicationFactor: -1 means `default.replication.factor`; only 1 is possible on one broker.
    ///   - configs: topic key → value overrides; null values are ignored as in Kafka.
    ///   - validateOnly: check everything but change nothing.
    ///   - allowInternal: only the broker itself creates internal topics (`__consumer_offsets`);
    ///     clients asking for one get INVALID_REQUEST, as in Kafka.
    func createTopic(name: String, numPartitions: Int32, replicationFactor: Int16,
                     configs: [(name: String, value: String?)], validateOnly: Bool, allowInternal: Bool = false) -> CreateTopicResult {
        let partitionCount = numPartitions == -1 ? Int32(config.int("num.partitions")) : numPartitions
        let rf = replicationFactor == -1 ? Int16(config.int("default.replication.factor")) : replicationFactor
        var result = CreateTopicResult(errorCode: .none, errorMessage: nil, numPartitions: partitionCount,
                                       replicationFactor: rf, topicID: .zero, configs: [:])
        func fail(_ code: ErrorCode, _ message: String) -> CreateTopicResult {
            result.errorCode = code
            result.errorMessage = message
            return result
        }
        if let problem = TopicName.problem(name) { return fail(.invalidTopicException, problem) }
        if name.hasPrefix("__cluster_metadata") { return fail(.invalidTopicException, "'\(name)' is reserved for the metadata log") }
        if !allowInternal, TopicName.isInternal(name) {
            return fail(.invalidRequest, "Creation of internal topic \(name) is prohibited.")
        }
        if image.topics[name] != nil { return fail(.topicAlreadyExists, "Topic '\(name)' already exists.") }
        let key = TopicName.collisionKey(name)
        if let other = image.topics.keys.first(where: { TopicName.collisionKey($0) == key }) {
            return fail(.invalidTopicException, "Topic '\(name)' collides with existing topic: \(other)")
        }
        guard partitionCount >= 1 else { return fail(.invalidPartitions, "Number of partitions must be larger than 0.") }
        guard partitionCount <= 100_000 else { return fail(.invalidPartitions, "Number of partitions \(partitionCount) is above the limit of 100000.") }
        guard rf >= 1 else { return fail(.invalidReplicationFactor, "Replication factor must be larger than 0.") }
        guard rf <= 1 else {
            return fail(.invalidReplicationFactor, "Replication factor: \(rf) larger than available brokers: 1.")
        }
        var overrides: [String: String] = [:]
        for (key, value) in configs {
            guard let def = ConfigDefinitions.topicKey(key) else {
                return fail(.invalidConfig, "Unknown topic config name: \(key)")
            }
            guard let value else { continue }
            do { try def.validate(value) } catch { return fail(.invalidConfig, "\(error)") }
            overrides[key] = value.trimmingWhitespace()
        }
        var effective = config.topicDefaults
        for (k, v) in overrides { effective[k] = v }
        result.configs = effective
        result.overriddenKeys = Set(overrides.keys)
        if validateOnly { return result }

        let topicID = UUIDBytes.random()
        var records: [MetadataRecord] = [.topic(name: name, topicID: topicID)]
        for (k, v) in overrides.sorted(by: { $0.key < $1.key }) {
            records.append(.config(resourceType: MetadataRecord.topicResourceType, resourceName: name, name: k, value: v))
        }
        for p in 0..<partitionCount {
            records.append(.partition(.init(partitionID: p, topicID: topicID, replicas: [nodeID], isr: [nodeID],
                                            leader: nodeID, leaderEpoch: 0, partitionEpoch: 0)))
        }
        do {
            try metadataLog.append(records, nowMs: Self.nowMs())
        } catch {
            logger.error("metadata log append failed", metadata: ["topic": "\(name)", "error": "\(error)"])
            return fail(.kafkaStorageError, "metadata log write failed: \(error)")
        }
        for r in records { image.apply(r) }
        do {
            for p in 0..<partitionCount {
                let tp = TopicPartition(name, p)
                partitions[tp] = try Partition(topicPartition: tp, topicID: topicID, leaderEpoch: 0, logDirectory: logDirectory,
                                               config: config.logConfig(topicOverrides: overrides),
                                               appendPolicy: config.appendPolicy(topicOverrides: overrides), logger: logger,
                                               metrics: metrics)
            }
        } catch {
            logger.error("creating partition directories failed", metadata: ["topic": "\(name)", "error": "\(error)"])
            return fail(.kafkaStorageError, "partition directory creation failed: \(error)")
        }
        result.topicID = topicID
        logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(partitionCount)", "topic.id": "\(topicID)"])
        return result
    }

    /// Deletes a topic by name: a RemoveTopicRecord, then its partition directories are renamed
    /// `<topic>-<partition>.<id>-delete` and removed.
    func deleteTopic(name: String) async -> (ErrorCode, String?) {
        if TopicName.isInternal(name) { return (.invalidRequest, "Deleting internal topic \(name) is not allowed.") }
        guard let topic = image.topics[name] else { return (.unknownTopicOrPartition, "This server does not host this topic.") }
        do {
            try metadataLog.append([.removeTopic(topicID: topic.topicID)], nowMs: Self.nowMs())
        } catch {
            return (.kafkaStorageError, "metadata log write failed: \(error)")
        }
        image.apply(.removeTopic(topicID: topic.topicID))
        for p in topic.partitions.keys { cleanerOffsets[TopicPartition(name, p)] = nil }
        for p in topic.partitions.keys.sorted() {
            let tp = TopicPartition(name, p)
            if let partition = partitions.removeValue(forKey: tp) { await partition.close() }
            let dir = logDirectory.appending(tp.directoryName).string
            let doomed = logDirectory.appending("\(tp.directoryName).\(topic.topicID)-delete").string
            if rename(dir, doomed) == 0 { try? FileManager.default.removeItem(atPath: doomed) }
        }
        logger.info("deleted topic", metadata: ["topic": "\(name)", "topic.id": "\(topic.topicID)"])
        return (.none, nil)
    }

    /// Flushes and closes every partition, writes the checkpoints and then the clean-shutdown
    /// marker, so the next start skips recovery.
    func shutdown() async {
        await withDiscardingTaskGroup { group in
            for p in partitions.values { group.addTask { await p.close() } }
        }
        do {
            try await writeCheckpoints()
            try LogDirectoryState.writeCleanShutdownMarker(directory: logDirectory)
            logger.info("wrote checkpoints and the clean shutdown marker")
        } catch {
            logger.error("could not write checkpoints at shutdown; the next start recovers", metadata: ["error": "\(error)"])
        }
        partitions.removeAll()
        metadataLog.close()
    }

    /// Writes `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint`.
    func writeCheckpoints() async throws {
        var recovery: [OffsetCheckpointFile.Entry] = []
        var starts: [OffsetCheckpointFile.Entry] = []
        for (tp, partition) in partitions {
            recovery.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.recoveryPoint))
            starts.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.logStartOffset))
        }
        try OffsetCheckpointFile.write(recovery, directory: logDirectory, name: OffsetCheckpointFile.recoveryPoint)
        try OffsetCheckpointFile.write(starts, directory: logDirectory, name: OffsetCheckpointFile.logStartOffset)
    }

    // MARK: Log cleaner

    /// The partitions with `cleanup.policy` containing `compact`, with the offset their next
    /// cleaning starts from (the checkpointed end of the last one; 0, clamped by the log to its
    /// start offset, when never cleaned).
    func compactedPartitions() async -> [(TopicPartition, Partition, firstDirtyOffset: Int64)] {
        var out: [(TopicPartition, Partition, firstDirtyOffset: Int64)] = []
        for (tp, partition) in partitions where await partition.logConfig.compactEnabled {
            out.append((tp, partition, cleanerOffsets[tp] ?? 0))
        }
        return out
    }

    /// Records that `tp` is compacted below `endOffset` and rewrites `cleaner-offset-checkpoint`.
    func recordCleaned(_ tp: TopicPartition, endOffset: Int64) throws {
        guard partitions[tp] != nil else { return }
        cleanerOffsets[tp] = endOffset
        let entries = cleanerOffsets.compactMap { tp, offset in
            partitions[tp] == nil ? nil : OffsetCheckpointFile.Entry(topic: tp.topic, partition: tp.partition, offset: offset)
        }
        try OffsetCheckpointFile.write(entries, directory: logDirectory, name: OffsetCheckpointFile.cleanerOffset)
    }

    /// Runs retention on every partition; failures are logged per partition and do not stop the others.
    func runRetention() async {
        for (tp, partition) in partitions {
            do {
                _ = try await partition.applyRetention()
            } catch {
                logger.error("retention failed", metadata: ["partition": "\(tp)", "error": "\(error)"])
            }
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private static func removeDeletedDirectories(_ directory: FilePath, logger: Logger) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.string) else { return }
        for name in names where name.hasSuffix("-delete") {
            try? FileManager.default.removeItem(atPath: directory.appending(name).string)
            logger.info("removed the leftover directory of a deleted topic", metadata: ["dir": "\(name)"])
        }
    }
}

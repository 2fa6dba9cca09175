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
    nonisolated let clusterID: String
    let logDirectory: FilePath
    /// Free space and I/O health of `log.dirs`, shared by every partition log in it.
    nonisolated let logDirectoryHealth: LogDirectoryHealth
    /// The standalone node's metadata log; nil in a cluster, where ``quorum`` replicates it.
    let metadataLog: MetadataLog?
    /// This node's member of the metadata quorum; nil for a standalone node.
    nonisolated let quorum: QuorumDriver?
    /// `process.roles` and the voters; nil for a standalone node.
    nonisolated let cluster: ClusterSettings?
    /// Whether this node hosts partitions (the broker role, or a standalone node).
    let hostsPartitions: Bool
    var image: MetadataImage
    /// Recovery points and the clean-shutdown flag read at start, for partitions opened later
    /// (in a cluster, as the replicated metadata log is replayed).
    let startState: LogDirectoryState
    /// Controller writes run one at a time, so each validates against the image its predecessor left.
    var writeInFlight = false
    var writeWaiters: [CheckedContinuation<Void, Never>] = []
    /// Active controller only: when each broker last sent a heartbeat (monotonic).
    var lastHeartbeat: [Int32: ContinuousClock.Instant] = [:]
    /// Called with the `__consumer_offsets` partitions newly opened here (cluster mode), so the group
    /// coordinator loads and serves their groups.
    var offsetsPartitionsOpened: (@Sendable ([Int32]) async -> Void)?
    /// Called with the `__consumer_offsets` partitions this broker stopped leading, so the group
    /// coordinator stops serving their groups (NOT_COORDINATOR sends clients to the new leader).
    var offsetsPartitionsLost: (@Sendable ([Int32]) async -> Void)?
    /// The replica fetchers of a cluster broker; nil on a standalone node and a controller-only one.
    let replicaManager: ReplicaManager?
    /// Told the quotas in force after a `ClientQuotaRecord` applies.
    var clientQuotasChanged: (@Sendable (ClientQuotas) -> Void)?
    /// Opens when a cluster broker may serve clients (the active controller unfenced it).
    nonisolated let clientGate = ReadinessGate()
    /// Requests to the active controller; nil for a standalone node.
    nonisolated let controllerChannel: ControllerChannel?
    /// This broker's registration epoch with the active controller, once registered.
    var brokerEpoch: Int64 = -1
    /// Producer ids reserved in the metadata log and not handed out yet.
    var producerIDBlock: Range<Int64> = 0..<0
    var partitions: [TopicPartition: Partition] = [:]
    /// `cleaner-offset-checkpoint`: per partition, the offset below which the log is compacted.
    var cleanerOffsets: [TopicPartition: Int64] = [:]
    let logger: Logger
    /// Tagged `subsystem=controller`: the quorum, registration, fencing and elections.
    let controllerLogger: Logger
    /// Tagged `subsystem=replication`: fetchers, truncation, ISR and leadership changes.
    let replicationLogger: Logger
    /// Where partitions count appends and reads; nil in tests that do not look.
    let metrics: BrokerMetrics?

    /// Loads `meta.properties`, replays the metadata log and recovers every partition log.
    /// - Throws: ``ConfigError``, ``StorageError`` or ``ProtocolError`` when the directory is unusable.
    /// - Parameter levels: the per-subsystem levels; `logger` is used for every subsystem when nil.
    init(config staticConfig: BrokerConfig, logger: Logger, metrics: BrokerMetrics? = nil, levels: LogLevels? = nil) throws {
        var config = staticConfig
        self.metrics = metrics
        self.logger = logger
        let controllerLogger = levels?.logger(.controller, from: logger) ?? logger
        let replicationLogger = levels?.logger(.replication, from: logger) ?? logger
        self.controllerLogger = controllerLogger
        self.replicationLogger = replicationLogger
        self.nodeID = config.nodeID
        let directory = FilePath(config.logDirectory)
        self.logDirectory = directory
        try FileManager.default.createDirectory(atPath: directory.string, withIntermediateDirectories: true)
        let cluster = try ClusterSettings.parse(config)
        let fresh = !FileManager.default.fileExists(atPath: directory.appending(MetaProperties.fileName).string)
        let meta = try MetaProperties.loadOrCreate(directory: directory.string, nodeID: config.nodeID,
                                                   clusterID: cluster?.clusterID(configured: config.string("runnel.cluster.id") ?? ""))
        self.clusterID = meta.clusterID
        self.cluster = cluster
        self.hostsPartitions = cluster?.isBroker ?? true
        self.replicaManager = cluster?.isBroker == true
            ? ReplicaManager(nodeID: config.nodeID, settings: ReplicaFetcherSettings(config: config), logger: replicationLogger) : nil
        let image: MetadataImage
        if let cluster {
            let metadataDirectory = directory.appending(MetadataLog.directoryName)
            if FileManager.default.fileExists(atPath: metadataDirectory.appending(QuorumStore.logFileName).string),
               !FileManager.default.fileExists(atPath: metadataDirectory.appending("quorum-state").string),
               FileManager.default.fileExists(atPath: metadataDirectory.appending("00000000000000000000.index").string) {
                throw ConfigError.invalidValue(key: "process.roles", value: config.string("process.roles") ?? "",
                                               reason: "log.dirs \(directory) holds a standalone node's metadata log; a cluster node needs a new log.dirs")
            }
            let store = try QuorumStore(directory: metadataDirectory, logger: controllerLogger)
            let quorum = try QuorumDriver(settings: cluster, config: config, clusterID: meta.clusterID, store: store, logger: controllerLogger)
            self.quorum = quorum
            self.controllerChannel = ControllerChannel(quorum: quorum, settings: cluster, nodeID: config.nodeID, logger: controllerLogger)
            self.metadataLog = nil
            image = MetadataImage()
        } else {
            let metadataLog = try MetadataLog(logDirectory: directory, logger: logger)
            self.metadataLog = metadataLog
            self.quorum = nil
            self.controllerChannel = nil
            image = try metadataLog.replay()
        }
        self.image = image
        config = Self.effectiveConfig(staticConfig, image: image, nodeID: config.nodeID)
        self.config = config
        let health = LogDirectoryHealth(directory: directory, minFreeBytes: Int64(config.int("runnel.log.dir.min.free.bytes")), logger: logger)
        self.logDirectoryHealth = health
        Self.removeDeletedDirectories(directory, logger: logger)
        let state = try LogDirectoryState.load(directory: directory)
        self.startState = state
        if fresh {
            logger.info("new log directory: nothing to recover", metadata: ["log.dirs": "\(directory)"])
        } else {
            logger.info(state.cleanShutdown ? "clean shutdown marker found: trusting segments and indexes"
                                            : "no clean shutdown marker: recovering segments after each recovery point",
                        metadata: ["log.dirs": "\(directory)"])
        }
        let total = image.topics.values.reduce(0) { $0 + $1.partitions.count }
        var progress = RecoveryProgress(total: total, logger: logger, metrics: metrics)
        var opened: [TopicPartition: Partition] = [:]
        for topic in image.topics.values {
            for p in topic.partitions.values {
                let tp = TopicPartition(topic.name, p.partitionID)
                let partition = try Self.openPartition(tp, topic: topic, partition: p, directory: directory, config: config,
                                                       state: state, nodeID: config.nodeID, health: health, logger: logger, metrics: metrics)
                opened[tp] = partition
                progress.loaded(tp, scannedBytes: partition.recoveredBytesAtLoad)
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
                                                   "cluster.id": "\(meta.clusterID)", "node.id": "\(config.nodeID)",
                                                   "process.roles": "\(cluster.map { $0.roles.map(\.rawValue).sorted().joined(separator: ",") } ?? "standalone")"])
    }

    /// Opens (recovering if needed) the log of one partition hosted here.
    static func openPartition(_ tp: TopicPartition, topic: MetadataImage.TopicImage, partition p: MetadataImage.PartitionImage,
                              directory: FilePath, config: BrokerConfig, state: LogDirectoryState, nodeID: Int32,
                              health: LogDirectoryHealth, logger: Logger, metrics: BrokerMetrics?) throws -> Partition {
        var options = Log.LoadOptions(recoveryPoint: state.recoveryPoints[tp.directoryName], cleanShutdown: state.cleanShutdown,
                                      logStartOffset: state.logStartOffsets[tp.directoryName],
                                      maxOpenInactiveSegments: config.int("runnel.log.max.open.segments"))
        options.directoryHealth = health
        return try Partition(topicPartition: tp, topicID: topic.topicID, leaderEpoch: p.leaderEpoch,
                             logDirectory: directory, config: config.logConfig(topicOverrides: topic.configs),
                             appendPolicy: config.appendPolicy(topicOverrides: topic.configs),
                             loadOptions: options, logger: logger, metrics: metrics, brokerID: nodeID, assignment: p,
                             highWatermark: state.highWatermarks[tp.directoryName],
                             replication: config.replicationSettings(topicOverrides: topic.configs))
    }

    /// The replica of `tp` hosted here, leader or follower; requests that need the leader find out
    /// from the partition (``NotLeaderError``).
    func partition(_ tp: TopicPartition) -> Partition? { partitions[tp] }

    /// Sets the hook that tells the group coordinator about offsets partitions opened here.
    func onOffsetsPartitionsOpened(_ hook: @escaping @Sendable ([Int32]) async -> Void) { offsetsPartitionsOpened = hook }

    /// Every partition hosted here.
    var partitionsHosted: [Partition] { Array(partitions.values) }

    /// Every partition hosted here, with its name, in name order (the scrubber's round).
    var partitionsByName: [(TopicPartition, Partition)] {
        partitions.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }.map { ($0.key, $0.value) }
    }

    /// Flushes and closes every partition, writes the checkpoints and then the clean-shutdown
    /// marker, so the next start skips recovery.
    func shutdown() async {
        await replicaManager?.shutdown()
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
        metadataLog?.close()
    }

    /// Writes `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint`.
    func writeCheckpoints() async throws {
        var recovery: [OffsetCheckpointFile.Entry] = []
        var starts: [OffsetCheckpointFile.Entry] = []
        var highWatermarks: [OffsetCheckpointFile.Entry] = []
        for (tp, partition) in partitions {
            recovery.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.recoveryPoint))
            starts.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.logStartOffset))
            highWatermarks.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.highWatermark))
        }
        try OffsetCheckpointFile.write(recovery, directory: logDirectory, name: OffsetCheckpointFile.recoveryPoint)
        try OffsetCheckpointFile.write(starts, directory: logDirectory, name: OffsetCheckpointFile.logStartOffset)
        try OffsetCheckpointFile.write(highWatermarks, directory: logDirectory, name: OffsetCheckpointFile.replicationOffset)
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

import Foundation
import KafkaProtocol
import KafkaSASL
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
    /// The entries of `log.dirs` in configured order, each with its own health and checkpoints.
    nonisolated let logDirectories: [LogDirectory]
    /// Where the metadata log lives (`metadata.log.dir`, by default the first log directory).
    let metadataLogDirectory: FilePath
    /// Which log directory holds each partition's log (found at start, or chosen when created).
    var placement: LogDirectoryPlacement
    /// The log directories this broker has reported offline to the active controller and whose
    /// led partitions it has handed over (cluster mode), by index.
    var handledOfflineDirectories: Set<Int> = []
    /// The partition epoch at which this broker last asked to give up leading a partition in an
    /// offline directory, so it asks once per epoch.
    var stepDownsSent: [TopicPartition: Int32] = [:]
    /// Active controller: the offline log directories each broker reported in its last heartbeat (KIP-858).
    var offlineLogDirectoriesByBroker: [Int32: Set<UUIDBytes>] = [:]
    /// The standalone node's metadata log; nil in a cluster, where ``quorum`` replicates it.
    let metadataLog: MetadataLog?
    /// This node's member of the metadata quorum; nil for a standalone node.
    nonisolated let quorum: QuorumDriver?
    /// `process.roles` and the voters; nil for a standalone node.
    nonisolated let cluster: ClusterSettings?
    /// Whether this node hosts partitions (the broker role, or a standalone node).
    let hostsPartitions: Bool
    var image: MetadataImage
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
    /// Told the ACLs in force after an `AccessControlEntryRecord` or its removal applies.
    var aclsChanged: (@Sendable ([AclBinding]) -> Void)?
    /// Told the SCRAM credentials after a `UserScramCredentialRecord` or its removal applies.
    var scramCredentialsChanged: (@Sendable ([String: [ScramAlgorithm: ScramCredential]]) -> Void)?
    /// Opens when a cluster broker may serve clients (the active controller unfenced it).
    nonisolated let clientGate = ReadinessGate()
    /// Requests to the active controller; nil for a standalone node.
    nonisolated let controllerChannel: ControllerChannel?
    /// The listener replica fetchers dial (`inter.broker.listener.name`, else the first client listener).
    nonisolated let interBrokerListenerName: String?
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
        let directories = config.logDirectories.map { FilePath($0) }
        let metadataDirectory = FilePath(config.metadataLogDirectory)
        for directory in config.allLogDirectories {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let cluster = try ClusterSettings.parse(config)
        let fresh = directories.map { !FileManager.default.fileExists(atPath: $0.appending(MetaProperties.fileName).string) }
        let metas = try MetaProperties.loadOrCreateAll(directories: config.allLogDirectories, nodeID: config.nodeID,
                                                       clusterID: cluster?.clusterID(configured: config.string("runnel.cluster.id") ?? ""))
        let meta = metas[0]
        self.clusterID = meta.clusterID
        self.cluster = cluster
        self.hostsPartitions = cluster?.isBroker ?? true
        self.interBrokerListenerName = NodeTLS.interBrokerListenerName(config)
        var fetcherSettings = ReplicaFetcherSettings(config: config)
        fetcherSettings.tls = try NodeTLS.forListener(NodeTLS.interBrokerListenerName(config), config: config)
        self.replicaManager = cluster?.isBroker == true
            ? ReplicaManager(nodeID: config.nodeID, settings: fetcherSettings, logger: replicationLogger) : nil
        let image: MetadataImage
        if let cluster {
            let quorumDirectory = metadataDirectory.appending(MetadataLog.directoryName)
            if FileManager.default.fileExists(atPath: quorumDirectory.appending(QuorumStore.logFileName).string),
               !FileManager.default.fileExists(atPath: quorumDirectory.appending("quorum-state").string),
               FileManager.default.fileExists(atPath: quorumDirectory.appending("00000000000000000000.index").string) {
                throw ConfigError.invalidValue(key: "process.roles", value: config.string("process.roles") ?? "",
                                               reason: "\(metadataDirectory) holds a standalone node's metadata log; a cluster node needs a new log.dirs")
            }
            let store = try QuorumStore(directory: quorumDirectory, logger: controllerLogger)
            let quorum = try QuorumDriver(settings: cluster, config: config, clusterID: meta.clusterID, store: store, logger: controllerLogger)
            self.quorum = quorum
            self.controllerChannel = ControllerChannel(quorum: quorum, settings: cluster, nodeID: config.nodeID, logger: controllerLogger,
                                                       tls: try NodeTLS.forListener(config.controllerListenerNames.first, config: config))
            self.metadataLog = nil
            image = MetadataImage()
        } else {
            let metadataLog = try MetadataLog(logDirectory: metadataDirectory, logger: logger)
            self.metadataLog = metadataLog
            self.quorum = nil
            self.controllerChannel = nil
            image = try metadataLog.replay()
        }
        self.image = image
        config = Self.effectiveConfig(staticConfig, image: image, nodeID: config.nodeID)
        self.config = config
        self.metadataLogDirectory = metadataDirectory
        let minFreeBytes = Int64(config.int("runnel.log.dir.min.free.bytes"))
        var logDirectories: [LogDirectory] = []
        for (index, directory) in directories.enumerated() {
            Self.removeDeletedDirectories(directory, logger: logger)
            let state = try LogDirectoryState.load(directory: directory)
            let health = LogDirectoryHealth(directory: directory, minFreeBytes: minFreeBytes, logger: logger)
            logDirectories.append(LogDirectory(path: directory, directoryID: metas[index].directoryID, health: health,
                                               startState: state, fresh: fresh[index]))
            if fresh[index] {
                logger.info("new log directory: nothing to recover", metadata: ["log.dir": "\(directory)", "directory.id": "\(metas[index].directoryID)"])
            } else {
                logger.info(state.cleanShutdown ? "clean shutdown marker found: trusting segments and indexes"
                                                : "no clean shutdown marker: recovering segments after each recovery point",
                            metadata: ["log.dir": "\(directory)", "directory.id": "\(metas[index].directoryID)"])
            }
        }
        self.logDirectories = logDirectories
        var placement = try LogDirectoryPlacement.scan(directories)
        let total = image.topics.values.reduce(0) { $0 + $1.partitions.count }
        var progress = RecoveryProgress(total: total, logger: logger, metrics: metrics)
        var opened: [TopicPartition: Partition] = [:]
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            for p in topic.partitions.values.sorted(by: { $0.partitionID < $1.partitionID }) {
                let tp = TopicPartition(topic.name, p.partitionID)
                let directory = try Self.place(tp, in: &placement, directories: logDirectories)
                let partition = try Self.openPartition(tp, topic: topic, partition: p, directory: directory, config: config,
                                                       nodeID: config.nodeID, logger: logger, metrics: metrics)
                opened[tp] = partition
                progress.loaded(tp, scannedBytes: partition.recoveredBytesAtLoad)
            }
        }
        progress.finish()
        self.partitions = opened
        self.placement = placement
        for directory in logDirectories {
            do {
                let checkpoint = try OffsetCheckpointFile.read(directory: directory.path, name: OffsetCheckpointFile.cleanerOffset)
                for tp in opened.keys where placement.directory(of: tp.directoryName).map({ logDirectories[$0] === directory }) == true {
                    if let offset = checkpoint[tp.directoryName] { cleanerOffsets[tp] = offset }
                }
            } catch {
                logger.warning("ignoring an unreadable cleaner-offset-checkpoint; compacted logs are cleaned from their start",
                               metadata: ["log.dir": "\(directory.path)", "error": "\(error)"])
            }
            // From here on a crash is unclean again.
            try LogDirectoryState.removeCleanShutdownMarker(directory: directory.path)
        }
        logger.info("loaded metadata", metadata: ["topics": "\(image.topics.count)", "partitions": "\(opened.count)",
                                                   "cluster.id": "\(meta.clusterID)", "node.id": "\(config.nodeID)",
                                                   "log.dirs": "\(directories.map(\.string).joined(separator: ","))",
                                                   "process.roles": "\(cluster.map { $0.roles.map(\.rawValue).sorted().joined(separator: ",") } ?? "standalone")"])
    }

    /// Opens (recovering if needed) the log of one partition hosted here, in `directory`, with the
    /// recovery point, log start offset and high watermark that directory's checkpoints hold.
    static func openPartition(_ tp: TopicPartition, topic: MetadataImage.TopicImage, partition p: MetadataImage.PartitionImage,
                              directory: LogDirectory, config: BrokerConfig, nodeID: Int32,
                              logger: Logger, metrics: BrokerMetrics?) throws -> Partition {
        let state = directory.startState
        var options = Log.LoadOptions(recoveryPoint: state.recoveryPoints[tp.directoryName], cleanShutdown: state.cleanShutdown,
                                      logStartOffset: state.logStartOffsets[tp.directoryName],
                                      maxOpenInactiveSegments: config.int("runnel.log.max.open.segments"))
        options.directoryHealth = directory.health
        return try Partition(topicPartition: tp, topicID: topic.topicID, leaderEpoch: p.leaderEpoch,
                             logDirectory: directory.path, config: config.logConfig(topicOverrides: topic.configs),
                             appendPolicy: config.appendPolicy(topicOverrides: topic.configs),
                             loadOptions: options, logger: logger, metrics: metrics, brokerID: nodeID, assignment: p,
                             highWatermark: state.highWatermarks[tp.directoryName],
                             replication: config.replicationSettings(topicOverrides: topic.configs))
    }

    /// The log directory for `tp`: where its log already is, else the online directory with the
    /// fewest partitions (``LogDirectoryPlacement``).
    /// - Throws: ``StorageError/logDirectoryOffline(path:reason:)`` when the partition's directory,
    ///   or every directory for a new partition, is offline.
    static func place(_ tp: TopicPartition, in placement: inout LogDirectoryPlacement, directories: [LogDirectory]) throws -> LogDirectory {
        guard let index = placement.place(tp.directoryName, online: directories.map { !$0.isOffline }) else {
            throw StorageError.logDirectoryOffline(path: directories.map(\.path.string).joined(separator: ","),
                                                   reason: "every log directory is offline")
        }
        let directory = directories[index]
        if case .offline(let reason) = directory.health.state {
            throw StorageError.logDirectoryOffline(path: directory.path.string, reason: reason)
        }
        return directory
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

    /// Flushes and closes every partition, writes each online directory's checkpoints and then its
    /// clean-shutdown marker, so the next start skips recovery there. An offline directory gets
    /// neither: its partitions are recovered on the next start.
    func shutdown() async {
        await replicaManager?.shutdown()
        await withDiscardingTaskGroup { group in
            for p in partitions.values { group.addTask { await p.close() } }
        }
        do {
            try await writeCheckpoints()
            for directory in logDirectories where !directory.isOffline {
                try LogDirectoryState.writeCleanShutdownMarker(directory: directory.path)
            }
            logger.info("wrote checkpoints and the clean shutdown marker")
        } catch {
            logger.error("could not write checkpoints at shutdown; the next start recovers", metadata: ["error": "\(error)"])
        }
        partitions.removeAll()
        metadataLog?.close()
    }

    /// The log directory holding `tp`'s log, nil when it is not hosted here.
    func logDirectory(of tp: TopicPartition) -> LogDirectory? {
        placement.directory(of: tp.directoryName).map { logDirectories[$0] }
    }

    /// The hosted partitions of each log directory, by directory index.
    func partitionsByDirectory() -> [[(TopicPartition, Partition)]] {
        var out = Array(repeating: [(TopicPartition, Partition)](), count: logDirectories.count)
        for (tp, partition) in partitions {
            guard let index = placement.directory(of: tp.directoryName) else { continue }
            out[index].append((tp, partition))
        }
        return out
    }

    /// Writes `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` and
    /// `replication-offset-checkpoint` in each online log directory, each listing that directory's
    /// partitions. A directory whose write fails is taken offline if the error is a device fault;
    /// the others are still written.
    /// - Throws: the first write error, after every directory was tried.
    func writeCheckpoints() async throws {
        var firstError: (any Error)?
        for (index, hosted) in partitionsByDirectory().enumerated() {
            let directory = logDirectories[index]
            guard !directory.isOffline else { continue }
            var recovery: [OffsetCheckpointFile.Entry] = []
            var starts: [OffsetCheckpointFile.Entry] = []
            var highWatermarks: [OffsetCheckpointFile.Entry] = []
            for (tp, partition) in hosted {
                recovery.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.recoveryPoint))
                starts.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.logStartOffset))
                highWatermarks.append(.init(topic: tp.topic, partition: tp.partition, offset: await partition.highWatermark))
            }
            // Taken before any await: a snapshot read later gets a later ticket.
            let ticket = directory.checkpoints.ticket()
            do {
                try await directory.checkpoints.write([.init(name: OffsetCheckpointFile.recoveryPoint, entries: recovery),
                                                       .init(name: OffsetCheckpointFile.logStartOffset, entries: starts),
                                                       .init(name: OffsetCheckpointFile.replicationOffset, entries: highWatermarks)],
                                                      ticket: ticket)
            } catch {
                directory.health.recordFailure(error)
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
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
    /// Only the checkpoint of the directory holding `tp` is rewritten, with that directory's partitions.
    func recordCleaned(_ tp: TopicPartition, endOffset: Int64) async throws {
        guard partitions[tp] != nil, let index = placement.directory(of: tp.directoryName) else { return }
        cleanerOffsets[tp] = endOffset
        let entries = cleanerOffsets.compactMap { tp, offset in
            partitions[tp] == nil || placement.directory(of: tp.directoryName) != index
                ? nil : OffsetCheckpointFile.Entry(topic: tp.topic, partition: tp.partition, offset: offset)
        }
        let directory = logDirectories[index]
        let ticket = directory.checkpoints.ticket()
        do {
            try await directory.checkpoints.write([.init(name: OffsetCheckpointFile.cleanerOffset, entries: entries)], ticket: ticket)
        } catch {
            directory.health.recordFailure(error)
            throw error
        }
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

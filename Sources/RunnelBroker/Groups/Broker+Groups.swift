import GroupCoordinator
import LogStorage
import KafkaProtocol
import Logging

extension Broker {
    /// The group coordinator over this broker's `__consumer_offsets` partitions. The partition
    /// count is the existing topic's, else `offsets.topic.num.partitions` for when it is created.
    func makeGroupCoordinator(_ controller: Controller, logger: Logger) async -> GroupCoordinator {
        let existing = await controller.image.topics[TopicName.consumerOffsets]?.partitions.count
        var limits = GroupLimits()
        limits.minSessionTimeoutMs = Int32(clamping: config.int("group.min.session.timeout.ms"))
        limits.maxSessionTimeoutMs = Int32(clamping: config.int("group.max.session.timeout.ms"))
        limits.initialRebalanceDelayMs = Int64(config.int("group.initial.rebalance.delay.ms"))
        limits.maxSize = config.int("group.max.size")
        limits.maxOffsetMetadataBytes = config.int("offset.metadata.max.bytes")
        let groupLogger = logger
        let replicationFactor = config.int("offsets.topic.replication.factor")
        // Only a standalone node can tell: a cluster node (a controller-only one above all) does
        // not know at start-up how many brokers will register.
        if existing == nil, replicationFactor > 1, controller.cluster == nil {
            logger.warning("consumer groups will be unavailable: offsets.topic.replication.factor needs more brokers than this cluster has; set it to 1 for a single broker",
                           metadata: ["offsets.topic.replication.factor": "\(replicationFactor)", "alive.brokers": "1"])
        }
        let coordinator = GroupCoordinator(partitionCount: Int32(existing ?? config.int("offsets.topic.num.partitions")),
                                           store: ConsumerOffsetsStore(controller: controller), limits: limits, logger: groupLogger,
                                           clock: Self.groupClock())
        if let existing { await coordinator.beginLoading(partitions: (0..<Int32(existing)).map { $0 }) }
        return coordinator
    }

    /// Group time: sessions and rebalance deadlines on the monotonic clock, commit timestamps and
    /// offset expiry on ``SteadyWallClock``, so a jump of the system clock neither expires sessions
    /// nor committed offsets.
    static func groupClock() -> @Sendable () -> GroupTime {
        let system = GroupCoordinator.systemClock()
        return {
            var time = system()
            time.wallMs = Log.steadyWallClockMs()
            return time
        }
    }

    /// Loads the groups of an existing `__consumer_offsets` (requests for them get
    /// COORDINATOR_LOAD_IN_PROGRESS meanwhile), then runs group timers and offset expiry.
    func runGroupCoordinator(_ groups: GroupCoordinator, _ controller: Controller) async {
        let existing = await controller.image.topics[TopicName.consumerOffsets]
        let retentionMs = Int64(config.int("offsets.retention.minutes")) * 60_000
        let checkIntervalMs = Int64(config.int("offsets.retention.check.interval.ms"))
        await withDiscardingTaskGroup { group in
            // Timers run from the start: a partition whose load is retried must not stop the others.
            if let existing {
                group.addTask { await groups.load(partitions: existing.partitions.keys.sorted()) }
            }
            group.addTask { await groups.run(retentionMs: retentionMs, retentionCheckIntervalMs: checkIntervalMs) }
        }
    }
}

import GroupCoordinator

/// A gauge value of one scrape: metric name, labels and value.
typealias StateGauge = (name: String, labels: [(String, String)], value: Double)

extension Controller {
    /// Reads the state metrics just before a scrape (``MetricsServer``): per partition its log
    /// size, segment count, log start and end offsets and high watermark; the fetch purgatory
    /// size; topic and partition counts; under-replicated partitions (ISR smaller than the
    /// replica set) and offline partitions (no leader) from the metadata image; whether this node
    /// is the active controller; and each consumer group's lag per partition.
    func stateGauges(groups: GroupCoordinator) async -> [StateGauge] {
        var out: [StateGauge] = []
        var waiting = 0
        var produces = 0
        for (tp, partition) in partitions.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            let labels = [("topic", tp.topic), ("partition", String(tp.partition))]
            out.append(("runnel_partition_log_size_bytes", labels, Double(await partition.sizeBytes)))
            out.append(("runnel_partition_log_segments", labels, Double(await partition.segmentCount)))
            out.append(("runnel_partition_log_start_offset", labels, Double(await partition.logStartOffset)))
            out.append(("runnel_partition_log_end_offset", labels, Double(await partition.logEndOffset)))
            out.append(("runnel_partition_high_watermark", labels, Double(await partition.highWatermark)))
            if let replication = await partition.replicationSnapshot {
                for (follower, lag) in replication.followerLag.sorted(by: { $0.key < $1.key }) {
                    out.append(("runnel_partition_replica_lag_records", labels + [("replica", String(follower))], Double(lag)))
                }
                produces += await partition.waitingProduces
            }
            waiting += await partition.waitingFetches
        }
        out.append(("runnel_fetch_purgatory_size", [], Double(waiting)))
        out.append(("runnel_produce_purgatory_size", [], Double(produces)))
        out += logDirectoryGauges()
        let allPartitions = image.topics.values.flatMap { $0.partitions.values }
        out.append(("runnel_topics", [], Double(image.topics.count)))
        out.append(("runnel_partitions", [], Double(allPartitions.count)))
        out.append(("runnel_under_replicated_partitions", [], Double(allPartitions.filter { $0.isr.count < $0.replicas.count }.count)))
        // Offline: no leader, or (in a cluster) a leader on a fenced broker.
        out.append(("runnel_offline_partitions", [], Double(allPartitions.filter { $0.leader < 0 || !isLive($0.leader) }.count)))
        if let quorum {
            let role = await quorum.role
            out.append(("runnel_controller_active", [], role == .leader ? 1 : 0))
            out.append(("runnel_quorum_epoch", [], Double(await quorum.epoch)))
            out.append(("runnel_quorum_leader", [], Double(await quorum.leader ?? -1)))
            out.append(("runnel_quorum_role", [("role", "\(role)")], 1))
            out.append(("runnel_quorum_log_end_offset", [], Double(await quorum.logEndOffset)))
            out.append(("runnel_quorum_high_watermark", [], Double(await quorum.highWatermark ?? -1)))
            out.append(("runnel_quorum_applied_offset", [], Double(await quorum.appliedOffset)))
            let brokers = image.brokers.values
            out.append(("runnel_cluster_brokers", [("state", "unfenced")], Double(brokers.filter { !$0.fenced }.count)))
            out.append(("runnel_cluster_brokers", [("state", "fenced")], Double(brokers.filter(\.fenced).count)))
        } else {
            // A standalone node runs the metadata log itself.
            out.append(("runnel_controller_active", [], 1))
        }
        if case .success(let listings) = await groups.listGroups() {
            for listing in listings.sorted(by: { $0.groupID < $1.groupID }) {
                for lag in await consumerGroupLag(groups, groupID: listing.groupID) {
                    guard let value = lag.lag else { continue }
                    out.append(("runnel_consumer_group_lag", [("group", listing.groupID), ("topic", lag.topicPartition.topic),
                                                               ("partition", String(lag.topicPartition.partition))], Double(value)))
                }
            }
        }
        return out
    }
}

extension Controller {
    /// Per log directory (label `dir`, the configured path): available bytes at the last reading
    /// (`runnel_log_dir_free_bytes`, -1 before one), whether produce to its partitions is refused
    /// (`runnel_log_dir_produce_refused`, low space or offline), whether an I/O error took it
    /// offline (`runnel_log_dir_offline`) and how many partitions it holds (`runnel_log_dir_partitions`).
    func logDirectoryGauges() -> [StateGauge] {
        var out: [StateGauge] = []
        let counts = placement.counts
        for (index, directory) in logDirectories.enumerated() {
            let labels = [("dir", directory.path.string)]
            let health = directory.health
            out.append(("runnel_log_dir_free_bytes", labels, Double(health.lastFreeBytes ?? -1)))
            let (refusing, offline): (Double, Double) = switch health.state {
            case .online: (0, 0)
            case .lowSpace: (1, 0)
            case .offline: (1, 1)
            }
            out.append(("runnel_log_dir_produce_refused", labels, refusing))
            out.append(("runnel_log_dir_offline", labels, offline))
            out.append(("runnel_log_dir_partitions", labels, Double(counts[index])))
        }
        return out
    }
}

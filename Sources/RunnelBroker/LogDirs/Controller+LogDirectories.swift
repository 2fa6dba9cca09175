import KafkaProtocol
import Logging
import Replication

/// Watching the log directories (JBOD): free space read every second, and what this broker does
/// once an I/O error took a directory offline (KIP-112, KIP-858).
extension Controller {
    /// Reads each log directory's free space every `interval` (monotonic) until cancelled, so a
    /// directory that ran low is noticed without traffic and produce to it resumes by itself once
    /// space returns (appends also check, see ``LogDirectoryHealth``); then reacts to directories
    /// that went offline since the last round (``maybeHandleOfflineDirectories()``).
    func monitorLogDirectories(interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            for directory in logDirectories { directory.health.refresh() }
            await maybeHandleOfflineDirectories()
            try? await Task.sleep(for: interval)
        }
    }

    /// The `directory.id`s of the log directories an I/O error took offline, for BrokerHeartbeat
    /// `offline_log_dirs` (KIP-858).
    nonisolated var offlineDirectoryIDs: [UUIDBytes] {
        logDirectories.filter(\.isOffline).map(\.directoryID)
    }

    /// Whether `tp`'s log is in a directory that is offline (its replica can neither lead nor follow).
    func isInOfflineDirectory(_ tp: TopicPartition) -> Bool {
        logDirectory(of: tp)?.isOffline == true
    }

    /// Once a directory is offline its partitions answer KAFKA_STORAGE_ERROR (their logs check the
    /// directory's health), and in a cluster this broker gives up its replicas there, as Kafka's
    /// `ReplicaManager.handleLogDirFailure` does: followers stop fetching, and each partition it
    /// leads there asks the active controller to hand leadership to another in-sync replica
    /// (AlterPartition with an ISR without this broker, the step-down ``Controller/alterPartition``
    /// accepts). A request the controller refuses (no other eligible replica yet) is sent again when
    /// the partition epoch changes. The heartbeat reports the directory in `offline_log_dirs`.
    func maybeHandleOfflineDirectories() async {
        let offline = Set(logDirectories.indices.filter { logDirectories[$0].isOffline })
        let newlyOffline = offline.subtracting(handledOfflineDirectories)
        for index in newlyOffline.sorted() {
            let directory = logDirectories[index]
            let hosted = partitionsByDirectory()[index].map(\.0)
            logger.error("log dir offline: its partitions answer KAFKA_STORAGE_ERROR; other log dirs keep serving",
                         metadata: ["log.dir": "\(directory.path)", "directory.id": "\(directory.directoryID)",
                                    "partitions": "\(hosted.map(\.directoryName).sorted())"])
        }
        handledOfflineDirectories.formUnion(newlyOffline)
        guard cluster != nil, !offline.isEmpty else { return }
        if !newlyOffline.isEmpty { replicaManager?.partitionsChanged() }
        for index in offline.sorted() {
            for (tp, _) in partitionsByDirectory()[index] {
                guard let topic = image.topics[tp.topic], let p = topic.partitions[tp.partition], p.leader == nodeID,
                      stepDownsSent[tp] != p.partitionEpoch else { continue }
                let others = Set(p.isr).subtracting([nodeID])
                guard !others.isEmpty else { continue }
                stepDownsSent[tp] = p.partitionEpoch
                replicationLogger.warning("leader's log dir is offline: asking the controller to move leadership to another in-sync replica",
                                          metadata: ["partition": "\(tp)", "log.dir": "\(logDirectories[index].path)",
                                                     "to": "\(others.sorted())"])
                proposeStepDown(AlterISRRequest(leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newISR: others),
                                for: tp, topicID: topic.topicID)
            }
        }
    }
}

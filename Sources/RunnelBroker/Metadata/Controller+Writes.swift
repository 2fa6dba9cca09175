import Foundation
import KafkaProtocol
import LogStorage
import Raft

/// Why a metadata change was not written: the Kafka error for the client and a message.
struct ControllerWriteError: Error, CustomStringConvertible {
    var code: ErrorCode
    var message: String

    var description: String { "\(code): \(message)" }
}

extension Controller {
    /// Whether this node may write metadata now: a standalone node always; in a cluster, the
    /// leader of the metadata quorum (the active controller).
    var isActiveController: Bool {
        get async {
            guard let quorum else { return true }
            return await quorum.isLeader
        }
    }

    /// The active controller's node id, or nil while there is none (an election is running).
    var activeControllerID: Int32? {
        get async {
            guard let quorum else { return nodeID }
            return await quorum.leader
        }
    }

    /// Runs `body` after every earlier write finished, so each write validates against the image
    /// its predecessors left (Kafka's controller runs its events one at a time for the same reason).
    func serialized<T>(_ body: () async throws -> T) async rethrows -> T {
        while writeInFlight {
            await withCheckedContinuation { writeWaiters.append($0) }
        }
        writeInFlight = true
        defer {
            writeInFlight = false
            if !writeWaiters.isEmpty { writeWaiters.removeFirst().resume() }
        }
        return try await body()
    }

    /// Makes `records` durable as one atomic batch and applies them here: a standalone node appends
    /// them to its metadata log (fsynced); the active controller of a cluster proposes them to the
    /// quorum and returns once they are committed and applied.
    /// - Throws: ``ControllerWriteError``: NOT_CONTROLLER when this node is not (or stopped being)
    ///   the active controller, KAFKA_STORAGE_ERROR when the log cannot be written.
    func commit(_ records: [MetadataRecord]) async throws {
        guard !records.isEmpty else { return }
        if let quorum {
            do {
                // Parked: the other voters' Fetch requests commit it, not this request's handler.
                let batch = MetadataBatch(records)
                try await RequestTimer.parked { try await quorum.propose(batch) }
            } catch let error as QuorumWriteError {
                switch error {
                case .notLeader, .leadershipLost:
                    throw ControllerWriteError(code: .notController, message: "\(error)")
                case .storage(let reason):
                    throw ControllerWriteError(code: .kafkaStorageError, message: reason)
                }
            }
            return
        }
        do {
            try metadataLog?.append(records, nowMs: Self.nowMs())
        } catch {
            logger.error("metadata log append failed", metadata: ["error": "\(error)"])
            throw ControllerWriteError(code: .kafkaStorageError, message: "metadata log write failed: \(error)")
        }
        await publish(records)
    }

    /// Applies committed entries of the replicated metadata log, in order (cluster mode).
    func applyCommitted(_ entries: [LogEntry<MetadataBatch>]) async {
        for entry in entries {
            guard let batch = entry.payload else { continue }
            await publish(batch.records)
        }
    }

    /// Applies `records` to the image, then brings the partitions hosted here in line with it:
    /// opens the logs of partitions newly assigned to this node, closes and deletes those of removed
    /// topics, and pushes config changes to the partitions they reach (Kafka's metadata publisher).
    func publish(_ records: [MetadataRecord]) async {
        let before = image
        for record in records { image.apply(record) }
        var configTopics: Set<String> = []
        var brokerConfigChanged = false
        for record in records {
            if case .config(let type, let name, _, _) = record {
                if type == MetadataRecord.brokerResourceType { brokerConfigChanged = true } else { configTopics.insert(name) }
            }
        }
        // Removed topics: close and delete their directories.
        for (name, topic) in before.topics where image.topics[name]?.topicID != topic.topicID {
            for p in topic.partitions.keys.sorted() {
                let tp = TopicPartition(name, p)
                cleanerOffsets[tp] = nil
                guard let partition = partitions.removeValue(forKey: tp) else { continue }
                await partition.close()
                guard let directory = logDirectory(of: tp) else { continue }
                placement.remove(tp.directoryName)
                let dir = directory.path.appending(tp.directoryName).string
                let doomed = directory.path.appending("\(tp.directoryName).\(topic.topicID)-delete").string
                if rename(dir, doomed) == 0 { try? FileManager.default.removeItem(atPath: doomed) }
            }
            logger.info("deleted topic", metadata: ["topic": "\(name)", "topic.id": "\(topic.topicID)"])
        }
        if brokerConfigChanged {
            config = Self.effectiveConfig(config, image: image, nodeID: nodeID)
            for directory in logDirectories { directory.health.setMinFreeBytes(Int64(config.int("runnel.log.dir.min.free.bytes"))) }
        }
        if records.contains(where: { if case .clientQuota = $0 { return true } else { return false } }) {
            clientQuotasChanged?(image.clientQuotas)
        }
        if records.contains(where: \.changesAcls) {
            aclsChanged?(Array(image.acls.values))
        }
        if records.contains(where: \.isScramCredential) { scramCredentialsChanged?(image.scramCredentials) }
        // New partitions assigned here.
        var openedOffsetsPartitions: [Int32] = []
        var followersChanged = false
        if hostsPartitions {
            // In name and partition order, so placement across log directories is deterministic.
            for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
                for p in topic.partitions.values.sorted(by: { $0.partitionID < $1.partitionID }) where p.replicas.contains(nodeID) {
                    let tp = TopicPartition(topic.name, p.partitionID)
                    guard partitions[tp] == nil else { continue }
                    do {
                        let directory = try Self.place(tp, in: &placement, directories: logDirectories)
                        partitions[tp] = try Self.openPartition(tp, topic: topic, partition: p, directory: directory, config: config,
                                                                nodeID: nodeID, logger: logger, metrics: metrics)
                        if topic.name == TopicName.consumerOffsets, p.leader == nodeID { openedOffsetsPartitions.append(p.partitionID) }
                        if p.leader != nodeID { followersChanged = true }
                    } catch {
                        logger.error("cannot open a partition log", metadata: ["partition": "\(tp)", "error": "\(error)"])
                    }
                }
            }
        }
        // Leadership and ISR changes of hosted partitions: each replica takes its new role
        // (leading in a new epoch, following another broker, or a committed ISR change).
        var lostOffsetsPartitions: [Int32] = []
        for record in records {
            guard case .partitionChange(let change) = record, let name = image.topic(id: change.topicID)?.name,
                  let p = image.topics[name]?.partitions[change.partitionID],
                  let partition = partitions[TopicPartition(name, change.partitionID)] else { continue }
            do {
                let roleChange = try await partition.apply(p)
                switch roleChange {
                case .unchanged: break
                case .becameLeader:
                    metrics?.leaderElected()
                    if name == TopicName.consumerOffsets { openedOffsetsPartitions.append(p.partitionID) }
                    followersChanged = true
                    replicationLogger.info("leading partition", metadata: ["partition": "\(name)-\(p.partitionID)", "leader.epoch": "\(p.leaderEpoch)",
                                                            "isr": "\(p.isr)"])
                case .becameFollower(let leader):
                    if name == TopicName.consumerOffsets { lostOffsetsPartitions.append(p.partitionID) }
                    followersChanged = true
                    replicationLogger.info("following partition", metadata: ["partition": "\(name)-\(p.partitionID)", "leader": "\(leader)",
                                                              "leader.epoch": "\(p.leaderEpoch)"])
                }
            } catch {
                replicationLogger.error("cannot take the partition's new role", metadata: ["partition": "\(name)-\(change.partitionID)", "error": "\(error)"])
            }
        }
        if followersChanged { replicaManager?.partitionsChanged() }
        if !lostOffsetsPartitions.isEmpty, let hook = offsetsPartitionsLost {
            let lost = lostOffsetsPartitions.sorted()
            Task { await hook(lost) }
        }
        if cluster != nil, !openedOffsetsPartitions.isEmpty, let hook = offsetsPartitionsOpened {
            let opened = openedOffsetsPartitions.sorted()
            Task { await hook(opened) }
        }
        for (name, topic) in image.topics where before.topics[name] == nil {
            logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(topic.partitions.count)", "topic.id": "\(topic.topicID)"])
        }
        if brokerConfigChanged {
            await reconfigure(topics: Array(image.topics.keys))
        } else if !configTopics.isEmpty {
            await reconfigure(topics: Array(configTopics))
        }
    }

    /// Pushes the effective log config and append policy to every partition of `topics`.
    func reconfigure(topics: [String]) async {
        for name in topics {
            guard let topic = image.topics[name] else { continue }
            let logConfig = config.logConfig(topicOverrides: topic.configs)
            let policy = config.appendPolicy(topicOverrides: topic.configs)
            for p in topic.partitions.keys {
                guard let partition = partitions[TopicPartition(name, p)] else { continue }
                await partition.reconfigure(logConfig, appendPolicy: policy)
            }
        }
    }
}

extension Controller {
    /// Waits until the image here has `topic` (after a forwarded creation, so the answer this
    /// broker gives names it), at most `timeout`.
    func waitForTopic(_ topic: String, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while image.topics[topic] == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

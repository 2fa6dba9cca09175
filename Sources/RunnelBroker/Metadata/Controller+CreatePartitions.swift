import KafkaProtocol

extension Controller {
    /// Raises a topic's partition count (CreatePartitions, KIP-195). Partition counts never shrink.
    /// - Parameters:
    ///   - count: the new total number of partitions.
    ///   - assignments: replicas of each new partition; on one broker each must be exactly this broker.
    ///   - validateOnly: check everything, change nothing.
    /// - Returns: NONE, or the error and message (UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS,
    ///   INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST for internal topics, KAFKA_STORAGE_ERROR).
    func createPartitions(topic name: String, count: Int32, assignments: [[Int32]]?, validateOnly: Bool) -> (ErrorCode, String?) {
        guard let topic = image.topics[name] else {
            return (.unknownTopicOrPartition, "This server does not host this topic: \(name)")
        }
        if TopicName.isInternal(name) {
            // Groups are placed by partition count: changing it would move every group's coordinator.
            return (.invalidRequest, "The partition count of internal topic \(name) cannot be changed.")
        }
        let current = Int32(topic.partitions.count)
        guard count > current else {
            let message = count == current ? "Topic already has \(current) partitions."
                : "Topic currently has \(current) partitions, which is higher than the requested \(count)."
            return (.invalidPartitions, message)
        }
        guard count <= 100_000 else { return (.invalidPartitions, "Number of partitions \(count) is above the limit of 100000.") }
        if let assignments {
            guard assignments.count == Int(count - current) else {
                return (.invalidReplicaAssignment, "Increasing the number of partitions by \(count - current) but \(assignments.count) assignments provided.")
            }
            guard assignments.allSatisfy({ $0 == [nodeID] }) else {
                return (.invalidReplicaAssignment, "Every new partition must be assigned to broker \(nodeID), the only broker.")
            }
        }
        if validateOnly { return (.none, nil) }
        let records = (current..<count).map {
            MetadataRecord.partition(.init(partitionID: $0, topicID: topic.topicID, replicas: [nodeID], isr: [nodeID],
                                           leader: nodeID, leaderEpoch: 0, partitionEpoch: 0))
        }
        do {
            try metadataLog.append(records, nowMs: Self.nowMs())
        } catch {
            logger.error("metadata log append failed", metadata: ["topic": "\(name)", "error": "\(error)"])
            return (.kafkaStorageError, "metadata log write failed: \(error)")
        }
        for r in records { image.apply(r) }
        do {
            for p in current..<count {
                let tp = TopicPartition(name, p)
                partitions[tp] = try Partition(topicPartition: tp, topicID: topic.topicID, leaderEpoch: 0, logDirectory: logDirectory,
                                               config: config.logConfig(topicOverrides: topic.configs),
                                               appendPolicy: config.appendPolicy(topicOverrides: topic.configs), logger: logger,
                                               metrics: metrics)
            }
        } catch {
            logger.error("creating partition directories failed", metadata: ["topic": "\(name)", "error": "\(error)"])
            return (.kafkaStorageError, "partition directory creation failed: \(error)")
        }
        logger.info("added partitions", metadata: ["topic": "\(name)", "from": "\(current)", "to": "\(count)"])
        return (.none, nil)
    }
}

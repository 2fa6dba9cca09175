import KafkaProtocol

extension Controller {
    /// Raises a topic's partition count (CreatePartitions, KIP-195). Partition counts never shrink.
    /// - Parameters:
    ///   - count: the new total number of partitions.
    ///   - assignments: replicas of each new partition, as many as the topic's replication factor,
    ///     distinct, registered and unfenced; nil places them.
    ///   - validateOnly: check everything, change nothing.
    /// - Returns: NONE, or the error and message (UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS,
    ///   INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST for internal topics, KAFKA_STORAGE_ERROR).
    func createPartitions(topic name: String, count: Int32, assignments: [[Int32]]?, validateOnly: Bool) async -> (ErrorCode, String?) {
        await serialized { await createPartitionsNow(topic: name, count: count, assignments: assignments, validateOnly: validateOnly) }
    }

    private func createPartitionsNow(topic name: String, count: Int32, assignments: [[Int32]]?, validateOnly: Bool) async -> (ErrorCode, String?) {
        guard let topic = image.topics[name] else {
            return (.unknownTopicOrPartition, "This server does not host this topic: \(name)")
        }
        if TopicName.isInternal(name) {
            // Groups are placed by partition count: changing it would move every group's coordinator.
            return (.invalidRequest, "The partition count of internal topic \(name) cannot be changed.")
        }
        let current = Int32(topic.partitions.count)
        let replicationFactor = max(1, topic.partitions[0]?.replicas.count ?? 1)
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
            let live = Set(placementBrokers)
            for assignment in assignments {
                guard assignment.count == replicationFactor, Set(assignment).count == assignment.count else {
                    return (.invalidReplicaAssignment, "Each new partition needs \(replicationFactor) distinct replicas, as the topic's other partitions have; got \(assignment).")
                }
                if let absent = assignment.first(where: { !live.contains($0) }) {
                    return (.invalidReplicaAssignment, "Broker \(absent) is not a registered, unfenced broker.")
                }
            }
        }
        guard replicationFactor <= placementBrokers.count else {
            return (.invalidReplicationFactor, "The topic's replication factor \(replicationFactor) is larger than the \(placementBrokers.count) live brokers.")
        }
        if validateOnly { return (.none, nil) }
        let lists = assignments ?? placeReplicas(count: Int(count - current), replicationFactor: replicationFactor, brokers: placementBrokers)
        guard lists.count == Int(count - current) else {
            return (.invalidReplicationFactor, "No broker is registered and unfenced to place the new partitions on.")
        }
        let records = (current..<count).map { p -> MetadataRecord in
            let replicas = lists[Int(p - current)]
            return MetadataRecord.partition(.init(partitionID: p, topicID: topic.topicID, replicas: replicas, isr: replicas,
                                                  leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0))
        }
        do {
            try await commit(records)
        } catch let error as ControllerWriteError {
            return (error.code, error.message)
        } catch {
            return (.unknownServerError, "\(error)")
        }
        logger.info("added partitions", metadata: ["topic": "\(name)", "from": "\(current)", "to": "\(count)"])
        return (.none, nil)
    }
}

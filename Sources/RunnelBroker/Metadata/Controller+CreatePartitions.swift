import KafkaProtocol

extension Controller {
    /// Raises a topic's partition count (CreatePartitions, KIP-195). Partition counts never shrink.
    /// - Parameters:
    ///   - count: the new total number of partitions.
    ///   - assignments: replicas of each new partition; on one broker each must be exactly this broker.
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
                guard assignment.count == 1 else {
                    return (.invalidReplicaAssignment, "Each new partition must have exactly one replica until replication lands; got \(assignment).")
                }
                guard live.contains(assignment[0]) else {
                    return (.invalidReplicaAssignment, "Broker \(assignment[0]) is not a registered, unfenced broker.")
                }
            }
        }
        if validateOnly { return (.none, nil) }
        let leaders = assignments?.map { $0[0] } ?? placeLeaders(count: Int(count - current), brokers: placementBrokers)
        guard leaders.count == Int(count - current) else {
            return (.invalidReplicationFactor, "No broker is registered and unfenced to place the new partitions on.")
        }
        let records = (current..<count).map { p -> MetadataRecord in
            let leader = leaders[Int(p - current)]
            return MetadataRecord.partition(.init(partitionID: p, topicID: topic.topicID, replicas: [leader], isr: [leader],
                                                  leader: leader, leaderEpoch: 0, partitionEpoch: 0))
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

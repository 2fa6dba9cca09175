import KafkaProtocol
import LogStorage

typealias LogStorageTimestamp = Log.TimestampAndOffset

extension RequestHandlers {
    /// ListOffsets v1-7: -1 latest (high watermark, or last stable offset for read_committed),
    /// -2 earliest (log start offset), -3 the record with the largest timestamp (v7+, KIP-734), else
    /// the first record with a timestamp at or after the target (KIP-79), or offset -1 and timestamp
    /// -1 when there is none.
    func listOffsets(_ request: ListOffsetsRequest, version: Int16) async -> ListOffsetsResponse {
        var topics: [ListOffsetsResponse.Topic] = []
        for topic in request.topics {
            var partitions: [ListOffsetsResponse.Partition] = []
            if let refused = topicAuthorizationError(.describe, topic: topic.name) {
                topics.append(.init(name: topic.name, partitions: topic.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: refused) }))
                continue
            }
            for p in topic.partitions {
                partitions.append(await lookup(topic: topic.name, p, version: version, isolation: request.isolationLevel))
            }
            topics.append(.init(name: topic.name, partitions: partitions))
        }
        return ListOffsetsResponse(topics: topics)
    }

    private func lookup(topic: String, _ p: ListOffsetsRequest.Partition, version: Int16, isolation: Int8) async -> ListOffsetsResponse.Partition {
        guard let partition = await controller.partition(TopicPartition(topic, p.partitionIndex)) else {
            return .init(partitionIndex: p.partitionIndex, errorCode: await controller.missingPartitionError(TopicPartition(topic, p.partitionIndex)))
        }
        // A replica in an offline log directory answers nothing from its log, not even the offsets
        // kept in memory (Kafka: KAFKA_STORAGE_ERROR for an offline partition).
        if await controller.isInOfflineDirectory(TopicPartition(topic, p.partitionIndex)) {
            return .init(partitionIndex: p.partitionIndex, errorCode: .kafkaStorageError)
        }
        let epochError = await partition.checkLeaderEpoch(p.currentLeaderEpoch)
        guard epochError == .none else { return .init(partitionIndex: p.partitionIndex, errorCode: epochError) }
        if await partition.highWatermarkBehindEpochStart {
            // A new leader whose high watermark has not caught up (Kafka's Partition.fetchOffsetForTimestamp).
            return .init(partitionIndex: p.partitionIndex, errorCode: .offsetNotAvailable)
        }
        let epoch = await partition.leaderEpoch
        switch p.timestamp {
        case -1:
            let offset = isolation == 1 ? await partition.lastStableOffset : await partition.highWatermark
            return .init(partitionIndex: p.partitionIndex, timestamp: -1, offset: offset, leaderEpoch: epoch)
        case -2:
            return .init(partitionIndex: p.partitionIndex, timestamp: -1, offset: await partition.logStartOffset, leaderEpoch: epoch)
        default:
            do {
                let found: LogStorageTimestamp?
                if p.timestamp == -3 {
                    found = try await partition.maxTimestampRecord()
                } else if p.timestamp < 0 {
                    return .init(partitionIndex: p.partitionIndex, errorCode: .unsupportedVersion)
                } else {
                    found = try await partition.offsetForTimestamp(p.timestamp)
                }
                guard let found else { return .init(partitionIndex: p.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: -1) }
                return .init(partitionIndex: p.partitionIndex, timestamp: found.timestamp, offset: found.offset, leaderEpoch: found.leaderEpoch)
            } catch {
                return .init(partitionIndex: p.partitionIndex, errorCode: errorCode(for: error))
            }
        }
    }
}

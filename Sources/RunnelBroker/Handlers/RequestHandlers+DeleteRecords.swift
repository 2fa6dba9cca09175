import KafkaProtocol

extension RequestHandlers {
    /// DeleteRecords v0-2 (KIP-107): moves each partition's log start offset forward and answers with
    /// the new low watermark. Offset -1 means the high watermark; an offset below -1 or above the high
    /// watermark gets OFFSET_OUT_OF_RANGE, an unknown partition UNKNOWN_TOPIC_OR_PARTITION, both with
    /// low watermark -1. With a single replica there is nothing to wait for, so `timeout_ms` is unused.
    func deleteRecords(_ request: DeleteRecordsRequest, version: Int16) async -> DeleteRecordsResponse {
        var topics: [DeleteRecordsResponse.Topic] = []
        for topic in request.topics {
            var partitions: [DeleteRecordsResponse.Partition] = []
            if let refused = topicAuthorizationError(.delete, topic: topic.name) {
                topics.append(.init(name: topic.name, partitions: topic.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: refused) }))
                continue
            }
            for p in topic.partitions {
                if TopicName.isInternal(topic.name) {
                    // Kafka refuses to delete records of internal topics: committed offsets would vanish.
                    partitions.append(.init(partitionIndex: p.partitionIndex, errorCode: .invalidTopicException))
                    continue
                }
                guard let partition = await controller.partition(TopicPartition(topic.name, p.partitionIndex)) else {
                    partitions.append(.init(partitionIndex: p.partitionIndex,
                                            errorCode: await controller.missingPartitionError(TopicPartition(topic.name, p.partitionIndex))))
                    continue
                }
                do {
                    // The partition resolves -1 and checks the range in the same actor turn as the deletion.
                    let lowWatermark = try await partition.deleteRecords(beforeOffset: p.offset)
                    partitions.append(.init(partitionIndex: p.partitionIndex, lowWatermark: lowWatermark))
                } catch {
                    partitions.append(.init(partitionIndex: p.partitionIndex, errorCode: errorCode(for: error)))
                }
            }
            topics.append(.init(name: topic.name, partitions: partitions))
        }
        return DeleteRecordsResponse(topics: topics)
    }
}

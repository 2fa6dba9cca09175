import KafkaProtocol

extension Admin {
    /// Where ``deleteRecords(_:)`` moves a partition's log start offset.
    public enum RecordsToDelete: Sendable, Equatable {
        /// Delete every record before this offset.
        case before(Int64)
        /// Delete every record up to the high watermark (the wire's -1).
        case all

        var wireOffset: Int64 {
            switch self {
            case .before(let offset): return offset
            case .all: return -1
            }
        }
    }

    /// Deletes the records before the given offsets by moving each partition's log start offset
    /// forward (DeleteRecords, KIP-107, sent to each partition's leader; the Java client's
    /// `Admin.deleteRecords`). Consumers then start at the new log start; the log files go once
    /// whole segments fall below it.
    /// - Parameter partitions: per partition, the offset to delete up to (exclusive) or ``RecordsToDelete/all``.
    /// - Returns: the new log start offset (low watermark) per partition.
    /// - Throws: ``ClientError/unknownTopic(_:)``, ``ClientError/unknownPartition(topic:partition:)``,
    ///   or ``ClientError/broker(code:message:context:)`` with OFFSET_OUT_OF_RANGE for an offset
    ///   past the high watermark, or a retriable error that persisted.
    public func deleteRecords(_ partitions: [TopicPartition: RecordsToDelete]) async throws -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        var remaining = Array(partitions.keys)
        for attempt in 0..<10 where !remaining.isEmpty {
            var byLeader: [Int32: [TopicPartition]] = [:]
            for topic in Set(remaining.map(\.topic)) {
                if attempt > 0 { await core.invalidate(topic: topic) }
                let metadata = try await core.topic(topic)
                for tp in remaining where tp.topic == topic {
                    guard let partition = metadata.partitions.first(where: { $0.partition == tp.partition }) else {
                        throw ClientError.unknownPartition(topic: topic, partition: tp.partition)
                    }
                    byLeader[partition.leader, default: []].append(tp)
                }
            }
            var retry: [TopicPartition] = []
            for (leader, tps) in byLeader {
                let byTopic = Dictionary(grouping: tps, by: \.topic)
                let request = DeleteRecordsRequest(topics: byTopic.keys.sorted().map { topic in
                    .init(name: topic, partitions: byTopic[topic]!.map {
                        .init(partitionIndex: $0.partition, offset: partitions[$0]!.wireOffset)
                    })
                }, timeoutMs: configuration.requestTimeout.milliseconds32)
                let response: DeleteRecordsResponse
                do {
                    response = try await core.connection(to: leader).send(request)
                } catch let error as ClientError where error.isRetriable && attempt < 9 {
                    retry += tps
                    continue
                }
                for topic in response.topics {
                    for partition in topic.partitions {
                        let tp = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                        if partition.errorCode == .none {
                            out[tp] = partition.lowWatermark
                        } else if partition.errorCode.isRetriable, attempt < 9 {
                            retry.append(tp)
                        } else {
                            throw ClientError.broker(code: partition.errorCode, message: nil, context: "DeleteRecords for \(tp)")
                        }
                    }
                }
            }
            remaining = retry
            if !remaining.isEmpty { try await Task.sleep(for: configuration.retryBackoff) }
        }
        return out
    }
}

import KafkaProtocol

/// One partition replica in a broker's log directory (DescribeLogDirs, KIP-113).
public struct ReplicaLogInfo: Sendable, Equatable {
    public var topicPartition: TopicPartition
    /// The log directory holding it.
    public var logDir: String
    /// Bytes of its segments.
    public var sizeBytes: Int64
    /// How many offsets the replica's log end is behind the partition's high watermark as this
    /// broker knows it (0 on the leader and on caught-up followers).
    public var offsetLag: Int64
}

extension Admin {
    /// The partition replicas a broker holds, with their size and offset lag (DescribeLogDirs,
    /// sent to that broker; the Java client's `Admin.describeLogDirs`).
    /// - Parameters:
    ///   - broker: the broker's node id.
    ///   - topics: only these topics (all of their partitions); nil for every partition.
    /// - Throws: ``ClientError`` when the broker is unknown or unreachable, or answers an error.
    public func describeLogDirs(broker: Int32, topics: [String]? = nil) async throws -> [ReplicaLogInfo] {
        var request = DescribeLogDirsRequest(topics: nil)
        if let topics {
            var wanted: [DescribeLogDirsRequest.Topic] = []
            for topic in topics {
                let metadata = try await core.topic(topic)
                wanted.append(.init(topic: topic, partitions: metadata.partitions.map(\.partition)))
            }
            request = DescribeLogDirsRequest(topics: wanted)
        }
        let response = try await core.connection(to: broker).send(request)
        try check(response.errorCode, nil, "DescribeLogDirs on broker \(broker)")
        var out: [ReplicaLogInfo] = []
        for dir in response.results {
            try check(dir.errorCode, nil, "DescribeLogDirs \(dir.logDir) on broker \(broker)")
            for topic in dir.topics {
                for p in topic.partitions where !p.isFutureKey {
                    out.append(ReplicaLogInfo(topicPartition: TopicPartition(topic: topic.name, partition: p.partitionIndex),
                                              logDir: dir.logDir, sizeBytes: p.partitionSize, offsetLag: p.offsetLag))
                }
            }
        }
        return out
    }
}

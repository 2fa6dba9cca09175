import NIOCore

/// A record read from a partition.
public struct ConsumerRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the Unix epoch; see ``timestampType``.
    public var timestamp: Int64
    /// Whether ``timestamp`` is the producer's create time or the broker's log append time.
    public var timestampType: TimestampType
    /// `nil` for a null key.
    public var key: ByteBuffer?
    /// `nil` for a null value (a tombstone).
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// The leader epoch of the batch the record came in (KIP-320), -1 when unknown.
    public var leaderEpoch: Int32

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, timestampType: TimestampType,
                key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], leaderEpoch: Int32) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.key = key
        self.value = value
        self.headers = headers
        self.leaderEpoch = leaderEpoch
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

/// The meaning of a record's timestamp (RecordBatch attribute bit 3).
public enum TimestampType: String, Sendable, Equatable {
    case createTime = "CreateTime"
    case logAppendTime = "LogAppendTime"
}

/// What a rebalance did to this consumer's assignment.
public enum RebalanceEvent: Sendable, Equatable {
    /// These partitions are now this member's; called after SyncGroup, before they are fetched.
    /// Eager protocol: the whole assignment. Cooperative protocol: only the partitions added by
    /// this rebalance (possibly none), as the Java client's `onPartitionsAssigned`.
    case assigned([TopicPartition])
    /// These partitions are no longer this member's, after the last automatic commit, so the
    /// handler can commit or flush its own state. Eager protocol: every partition, before
    /// rejoining. Cooperative protocol: only those the new assignment takes away, after SyncGroup
    /// (or all of them when the member was dropped from the group).
    case revoked([TopicPartition])
}

/// Called on every rebalance; the consumer waits for it before it continues.
public typealias RebalanceHandler = @Sendable (RebalanceEvent) async -> Void

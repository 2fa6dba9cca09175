import KafkaProtocol
import Logging
import NIOCore

/// Reads records from partitions it is assigned by hand (``assign(_:)``) or by its group
/// (``subscribe(topics:)``, the classic JoinGroup/SyncGroup protocol), as the Java client's
/// `KafkaConsumer`.
///
/// ```swift
/// var config = ConsumerConfiguration()
/// config.groupID = "billing"
/// config.autoOffsetReset = .earliest
/// let consumer = Consumer(configuration: config)
/// try await consumer.subscribe(topics: ["orders"])
/// for try await record in consumer.records {
///     print(record.offset, String(buffer: record.value ?? ByteBuffer()))
/// }
/// ```
///
/// - Positions: the next offset to read per assigned partition. They start at the group's
///   committed offset, else at ``ConsumerConfiguration/autoOffsetReset``.
/// - Commits: with ``ConsumerConfiguration/enableAutoCommit`` positions are committed every
///   ``ConsumerConfiguration/autoCommitInterval`` while polling, before partitions are revoked,
///   and on ``close()``; ``commit()`` commits now.
/// - Group membership: heartbeats run in the background every
///   ``ConsumerConfiguration/heartbeatInterval``; when the coordinator starts a rebalance the next
///   poll rejoins. With the eager protocol every partition is revoked first; when every configured
///   assignor is cooperative (``AssignorKind/cooperativeSticky`` alone) the member keeps what it
///   owns and only partitions that move are revoked (KIP-429).
public actor Consumer {
    public let configuration: ConsumerConfiguration
    let core: ClientCore
    let logger: Logger
    let rebalanceHandler: RebalanceHandler?
    let metrics: ConsumerMetrics

    // Assignment and positions.
    var subscription: [String] = []
    var assigned: [TopicPartition] = []
    var positions: [TopicPartition: Int64] = [:]
    var paused: Set<TopicPartition> = []
    var leaders: [TopicPartition: Int32] = [:]
    var buffered: [ConsumerRecord] = []
    /// The Fetch round sent ahead of the next poll, if any.
    var prefetch: FetchRound?
    var lastAutoCommit = ContinuousClock.now

    // Group membership.
    var memberID = ""
    var generationID: Int32 = -1
    var needsRejoin = false
    /// As group leader: the partition counts the assignment was made with, checked every
    /// `metadata.max.age.ms`; a change (a topic created or grown) starts a rebalance.
    var assignedPartitionCounts: [String: Int]?
    var lastMetadataCheck = ContinuousClock.now
    var joining = false
    var heartbeatTask: Task<Void, Never>?
    var isClosed = false
    var polling = false

    /// Creates a consumer; nothing connects until ``assign(_:)`` or ``subscribe(topics:)``.
    /// - Parameters:
    ///   - rebalanceHandler: told about partitions assigned and revoked by the group.
    public init(configuration: ConsumerConfiguration, logger: Logger = Logger(label: "runnel.consumer"),
                rebalanceHandler: RebalanceHandler? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.rebalanceHandler = rebalanceHandler
        self.core = ClientCore(configuration: configuration.client, logger: logger)
        self.metrics = ConsumerMetrics(clientID: configuration.client.clientID)
    }

    /// Reads these partitions, outside any group rebalance (the group id, if set, is used only for
    /// committed offsets). Replaces an earlier assignment or subscription.
    /// - Throws: ``ClientError/unknownTopic(_:)`` / ``ClientError/unknownPartition(topic:partition:)``.
    public func assign(_ partitions: [TopicPartition]) async throws {
        guard !isClosed else { throw ClientError.closed }
        if !subscription.isEmpty { try await leaveGroup() }
        subscription = []
        for topic in Set(partitions.map(\.topic)) {
            let metadata = try await core.topic(topic)
            recordLeaders(metadata)
            for tp in partitions where tp.topic == topic && !metadata.partitions.contains(where: { $0.partition == tp.partition }) {
                throw ClientError.unknownPartition(topic: topic, partition: tp.partition)
            }
        }
        setAssignment(partitions)
    }

    /// Joins the group ``ConsumerConfiguration/groupID`` for `topics`; partitions arrive with the
    /// first poll after the rebalance.
    /// - Throws: ``ClientError/invalidArgument(_:)`` without a group id.
    public func subscribe(topics: [String]) async throws {
        guard !isClosed else { throw ClientError.closed }
        guard configuration.groupID != nil else {
            throw ClientError.invalidArgument("subscribe needs a consumer group: set group.id (ConsumerConfiguration.groupID)")
        }
        subscription = Array(Set(topics)).sorted()
        needsRejoin = true
    }

    /// The partitions this consumer reads now.
    public func assignment() -> [TopicPartition] { assigned }

    /// The next offset to read in `partition`, `nil` until it is known.
    public func position(_ partition: TopicPartition) -> Int64? { positions[partition] }

    /// Reads `partition` from `offset` on the next poll.
    /// - Throws: ``ClientError/invalidArgument(_:)`` when the partition is not assigned.
    public func seek(_ partition: TopicPartition, to offset: Int64) throws {
        guard assigned.contains(partition) else {
            throw ClientError.invalidArgument("cannot seek \(partition): it is not assigned to this consumer")
        }
        positions[partition] = offset
        buffered.removeAll { $0.topicPartition == partition }
        discardPrefetch()
    }

    /// Moves `partitions` to their log start offset (earliest) or log end offset (latest).
    public func seek(_ partitions: [TopicPartition], to policy: OffsetResetPolicy) async throws {
        let offsets = try await listOffsets(partitions, timestamp: policy == .earliest ? -2 : -1)
        for (tp, offset) in offsets { try seek(tp, to: offset) }
    }

    /// Stops fetching `partitions` until ``resume(_:)``; positions are kept.
    public func pause(_ partitions: [TopicPartition]) {
        paused.formUnion(partitions)
        buffered.removeAll { paused.contains($0.topicPartition) }
        discardPrefetch()
    }

    /// Fetches `partitions` again after ``pause(_:)``.
    public func resume(_ partitions: [TopicPartition]) { paused.subtract(partitions) }

    /// The paused partitions.
    public func pausedPartitions() -> Set<TopicPartition> { paused }

    /// Records as an `AsyncSequence` that polls this consumer; it ends when the consumer is closed.
    public nonisolated var records: ConsumerRecordSequence { ConsumerRecordSequence(consumer: self) }

    /// Commits positions (if auto-commit is on), leaves the group and closes every connection.
    public func close() async {
        guard !isClosed else { return }
        if configuration.enableAutoCommit, configuration.groupID != nil { try? await commit() }
        if !subscription.isEmpty { try? await leaveGroup() }
        isClosed = true
        discardPrefetch()
        heartbeatTask?.cancel()
        await core.close()
    }

    func setAssignment(_ partitions: [TopicPartition]) {
        discardPrefetch()
        assigned = Array(Set(partitions)).sorted()
        positions = positions.filter { assigned.contains($0.key) }
        paused = paused.filter { assigned.contains($0) }
        buffered.removeAll { !assigned.contains($0.topicPartition) }
    }

    func recordLeaders(_ metadata: TopicMetadata) {
        for partition in metadata.partitions {
            leaders[TopicPartition(topic: metadata.name, partition: partition.partition)] = partition.leader
        }
    }
}

/// The records of a ``Consumer`` as an `AsyncSequence`: each `next()` returns a buffered record or
/// polls for more. Ends (returns `nil`) once the consumer is closed; throws what a poll throws.
public struct ConsumerRecordSequence: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    let consumer: Consumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: Consumer
        var pending: [ConsumerRecord] = []
        var index = 0

        public mutating func next() async throws -> ConsumerRecord? {
            while index >= pending.count {
                guard let batch = try await consumer.pollOrEnd() else { return nil }
                pending = batch
                index = 0
            }
            defer { index += 1 }
            return pending[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}

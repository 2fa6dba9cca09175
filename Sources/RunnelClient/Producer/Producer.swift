#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol
import Logging
import Metrics
import NIOCore

/// Sends records to Kafka-protocol brokers with per-partition batching, compression,
/// idempotence and retries (the Java client's `KafkaProducer`).
///
/// ```swift
/// let producer = try Producer(configuration: .init(properties: ["bootstrap.servers": "localhost:9092"]))
/// let metadata = try await producer.send(ProducerRecord(topic: "orders", key: "42", value: "paid"))
/// try await producer.close()
/// ```
///
/// - Batching: records for one partition collect in a batch until it reaches
///   ``ProducerConfiguration/batchSizeBytes`` or waited ``ProducerConfiguration/linger``.
/// - Idempotence (default, KIP-98): the producer gets a producer id (InitProducerId), numbers
///   each partition's batches with sequence numbers and keeps at most 5 requests in flight per
///   connection, so retries never duplicate or reorder. When a batch fails for good its sequence
///   leaves a gap, so the producer bumps its epoch and restarts sequences at 0 (KIP-360).
/// - Back-pressure: ``send(_:)`` suspends while ``ProducerConfiguration/bufferMemoryBytes`` of
///   records are unacknowledged.
/// - Retries: retriable errors (NOT_LEADER_OR_FOLLOWER, connection loss, timeouts...) are retried
///   after ``ClientConfiguration/retryBackoff`` with fresh metadata until
///   ``ProducerConfiguration/deliveryTimeout``.
public actor Producer {
    public let configuration: ProducerConfiguration
    // `@exclusivity(unchecked)` on the state touched per record: the actor serializes access and
    // no code holds overlapping accesses, so Swift's dynamic exclusivity checks are pure cost.
    let core: ClientCore
    let logger: Logger
    @exclusivity(unchecked) var accumulator: RecordAccumulator
    @exclusivity(unchecked) var sticky = StickyPartitioner()
    var partitionCounts: [String: Int] = [:]
    /// When each topic's metadata was last recorded; older than `metadata.max.age.ms` is refreshed
    /// in the background, so partitions added to a topic start receiving records.
    var metadataRecordedAt: [String: ContinuousClock.Instant] = [:]
    /// The last topic sent to and its partition count: skips hashing the name for a run of records.
    @exclusivity(unchecked) var lastPartitionCount: (topic: String, count: Int)?
    var leaders: [TopicPartition: Int32] = [:]
    var connections: [Int32: BrokerConnection] = [:]
    var connectingBrokers: Set<Int32> = []
    var inFlightByBroker: [Int32: Int] = [:]
    var inFlightByPartition: [TopicPartition: Int] = [:]
    /// Producer id, epoch and sequence numbers; see ``IdempotenceState``.
    var idempotence = IdempotenceState()
    var initializingProducerID = false
    /// Per broker, the task that handles the latest Produce response: each response task waits
    /// for the one before it, so one connection's responses are applied in the order they were
    /// sent (unstructured tasks alone may run in any order, by priority) and a partition's
    /// batches are completed, retried or rejected in sequence order.
    var lastResponseTask: [Int32: Task<Void, Never>] = [:]
    @exclusivity(unchecked) var bufferedBytes = 0
    var memoryWaiters: [(size: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    var flushWaiters: [CheckedContinuation<Void, Never>] = []
    @exclusivity(unchecked) var flushing = 0
    /// Runs delivery handlers off the actor; see ``DeliveryQueue``.
    var deliveryQueue: DeliveryQueue?
    var unreportedBatches = 0
    /// Numbers bulk sends, so a batch can keep consecutive records of one send in one entry.
    @exclusivity(unchecked) var bulkCalls: UInt64 = 0
    @exclusivity(unchecked) var wakeAt: ContinuousClock.Instant?
    var refreshingTopics: Set<String> = []
    @exclusivity(unchecked) var isClosed = false
    let metrics: ProducerMetrics

    /// Creates a producer; connections open on the first send.
    /// - Parameters:
    ///   - configuration: settings; see ``ProducerConfiguration``.
    ///   - logger: receives connection, retry and epoch-bump events.
    public init(configuration: ProducerConfiguration, logger: Logger = Logger(label: "runnel.producer")) {
        self.configuration = configuration
        self.logger = logger
        self.core = ClientCore(configuration: configuration.client, logger: logger)
        self.accumulator = RecordAccumulator(batchSizeBytes: configuration.batchSizeBytes, linger: configuration.linger,
                                             deliveryTimeout: configuration.deliveryTimeout)
        self.metrics = ProducerMetrics(clientID: configuration.client.clientID)
    }

    /// Sends one record and waits until it is acknowledged as `acks` requires.
    /// - Returns: the record's topic, partition, offset and timestamp.
    /// - Throws: ``ClientError/unknownTopic(_:)``, ``ClientError/recordTooLarge(sizeBytes:limitBytes:)``,
    ///   ``ClientError/deliveryTimedOut(topic:partition:timeout:)``, a non-retriable
    ///   ``ClientError/broker(code:message:context:)``, or ``ClientError/closed``.
    public func send(_ record: ProducerRecord) async throws -> RecordMetadata {
        let (partition, size) = try await prepare(record)
        return try await withCheckedThrowingContinuation { continuation in
            append(record, partition: partition, size: size, handler: .single { continuation.resume(with: $0) })
        }
    }

    /// Queues one record and returns once it is in a batch, without waiting for the broker;
    /// `onDelivery` is called once with the outcome. Suspends only while buffer memory is full.
    /// - Throws: the same errors as ``send(_:)`` that can be known before sending.
    public func send(_ record: ProducerRecord, onDelivery: @escaping DeliveryHandler) async throws {
        var prepared = try prepareWithoutWaiting(record)
        if prepared == nil { prepared = try await prepare(record) }
        let (partition, size) = prepared!
        append(record, partition: partition, size: size, handler: .single(onDelivery))
    }

    /// Queues many records with one call into the producer (as librdkafka's
    /// `rd_kafka_produce_batch`), which saves the per-call overhead when records come in bulk.
    /// `onDelivery` is called once per record with its index in `records` and its outcome.
    /// Suspends while buffer memory is full.
    /// - Throws: the errors of ``send(_:)`` that can be known before sending; records before the
    ///   failing one are queued, the rest are not.
    public func send(contentsOf records: [ProducerRecord],
                     onDelivery: @escaping BulkDeliveryHandler) async throws {
        try await send(contentsOf: records, target: { .indexed(onDelivery, $0) })
    }

    /// Queues many records with one call, like ``send(contentsOf:onDelivery:)``, but reports
    /// outcomes per run of consecutive records delivered together instead of per record: the
    /// cheapest way to keep a high rate of small records in flight (`runnel perf produce` uses
    /// it). `onBatchDelivery` gets each run's indices in `records` and the first record's
    /// metadata or the error; every record is in exactly one run, and the runs of a partition
    /// come in offset order. A run ends where a batch ends or the create time changes.
    /// Suspends while buffer memory is full.
    /// - Throws: the errors of ``send(_:)`` that can be known before sending; records before the
    ///   failing one are queued, the rest are not.
    public func send(contentsOf records: [ProducerRecord],
                     onBatchDelivery: @escaping RangeDeliveryHandler) async throws {
        try await send(contentsOf: records, target: { .ranged(onBatchDelivery, $0) })
    }

    private func send(contentsOf records: [ProducerRecord], target: (Int) -> DeliveryTarget) async throws {
        let now = ContinuousClock.now
        let timestamp = Self.currentTimeMillis()
        bulkCalls &+= 1
        if bulkCalls == 0 { bulkCalls = 1 }  // 0 means "not a bulk send"
        let call = bulkCalls
        var index = records.startIndex
        defer { metrics.records.increment(by: Int64(index - records.startIndex)) }
        while index < records.endIndex {
            // Everything that need not wait, in a synchronous loop (no async frame copies).
            index = try appendWithoutWaiting(records, from: index, now: now, timestamp: timestamp, call: call, target: target)
            guard index < records.endIndex else { break }
            let (partition, size) = try await prepare(records[index])
            append(records[index], partition: partition, size: size, now: now, timestamp: timestamp,
                   handler: target(index), call: call, index: index, countRecord: false)
            index += 1
        }
    }

    /// Appends `records` from `start` on while ``prepareWithoutWaiting(_:)`` succeeds; returns
    /// the index of the first record not appended.
    private func appendWithoutWaiting(_ records: [ProducerRecord], from start: Int, now: ContinuousClock.Instant,
                                      timestamp: Int64, call: UInt64, target: (Int) -> DeliveryTarget) throws -> Int {
        // Through a buffer pointer each record is borrowed, not copied (no retain and release of
        // its topic, key, value and headers).
        try records.withUnsafeBufferPointer { records in
            var index = start
            while index < records.endIndex {
                guard let (partition, size) = try prepareWithoutWaiting(records[index]) else { return index }
                append(records[index], partition: partition, size: size, now: now, timestamp: timestamp,
                       handler: target(index), call: call, index: index, countRecord: false)
                index += 1
            }
            return index
        }
    }

    /// Sends every queued record now, ignoring `linger`, and waits until all records sent before
    /// this call are acknowledged or failed.
    public func flush() async {
        flushing += 1
        defer { flushing -= 1 }
        maybeSend()
        while !(accumulator.isEmpty && inFlightByPartition.isEmpty && unreportedBatches == 0) {
            await withCheckedContinuation { flushWaiters.append($0) }
        }
    }

    /// Flushes, then closes every connection; later sends throw ``ClientError/closed``.
    public func close() async {
        guard !isClosed else { return }
        await flush()
        isClosed = true
        for waiter in memoryWaiters { waiter.continuation.resume(throwing: ClientError.closed) }
        memoryWaiters = []
        await deliveryQueue?.finish()
        await core.close()
    }

    /// ``prepare(_:)`` when it need not wait (partition count cached, buffer memory free), without
    /// the cost of an async call; `nil` when it would have to wait.
    private func prepareWithoutWaiting(_ record: ProducerRecord) throws -> (Int32, Int)? {
        guard !isClosed, memoryWaiters.isEmpty else { return nil }
        let count: Int
        if let last = lastPartitionCount, last.topic == record.topic {
            count = last.count
        } else if let cached = partitionCounts[record.topic] {
            count = cached
            lastPartitionCount = (record.topic, cached)
        } else {
            return nil
        }
        let size = ProducerBatch.estimatedSize(key: record.key, value: record.value, headers: record.headers)
        guard bufferedBytes + size <= configuration.bufferMemoryBytes,
              size <= configuration.maxRequestSizeBytes else { return nil }
        let partition = try choosePartition(record, partitionCount: count)
        bufferedBytes += size
        return (partition, size)
    }

    private func choosePartition(_ record: ProducerRecord, partitionCount count: Int) throws -> Int32 {
        if let chosen = record.partition {
            guard chosen >= 0, chosen < count else { throw ClientError.unknownPartition(topic: record.topic, partition: chosen) }
            return chosen
        }
        if let key = record.key, configuration.partitioner == .murmur2Sticky {
            return key.withUnsafeReadableBytes { Murmur2.partition(forKey: $0, partitionCount: count) }
        }
        return sticky.partition(topic: record.topic, partitionCount: count)
    }

    /// Resolves the partition and reserves buffer memory.
    private func prepare(_ record: ProducerRecord) async throws -> (Int32, Int) {
        guard !isClosed else { throw ClientError.closed }
        let size = ProducerBatch.estimatedSize(key: record.key, value: record.value, headers: record.headers)
        let limit = min(configuration.maxRequestSizeBytes, configuration.bufferMemoryBytes)
        guard size <= limit else { throw ClientError.recordTooLarge(sizeBytes: size, limitBytes: limit) }
        let count = if let cached = partitionCounts[record.topic] { cached } else { try await partitionCount(of: record.topic) }
        let partition = try choosePartition(record, partitionCount: count)
        try await reserveMemory(size)
        return (partition, size)
    }

    private func reserveMemory(_ size: Int) async throws {
        if memoryWaiters.isEmpty, bufferedBytes + size <= configuration.bufferMemoryBytes {
            bufferedBytes += size
            return
        }
        metrics.blockedOnMemory.increment()
        try await withCheckedThrowingContinuation { memoryWaiters.append((size, $0)) }
        guard !isClosed else { throw ClientError.closed }
    }

    func releaseMemory(_ size: Int) {
        bufferedBytes -= size
        while let first = memoryWaiters.first, bufferedBytes + first.size <= configuration.bufferMemoryBytes {
            memoryWaiters.removeFirst()
            bufferedBytes += first.size
            first.continuation.resume()
        }
    }

    /// - Parameters:
    ///   - now, timestamp: the time of the call, taken once for a bulk send.
    private func append(_ record: ProducerRecord, partition: Int32, size: Int, now: ContinuousClock.Instant = .now,
                        timestamp sendTime: Int64? = nil, handler: @autoclosure () -> DeliveryTarget, call: UInt64 = 0,
                        index: Int = -1, countRecord: Bool = true) {
        let timestamp = record.timestamp ?? sendTime ?? Self.currentTimeMillis()
        let result = accumulator.appendToOpenBatch(
            topic: record.topic, partition: partition, key: record.key, value: record.value, headers: record.headers,
            timestamp: timestamp, memoryBytes: size, handler: handler(), call: call, index: index)
            ?? accumulator.append(to: TopicPartition(topic: record.topic, partition: partition), key: record.key,
                                  value: record.value, headers: record.headers, timestamp: timestamp, memoryBytes: size,
                                  now: now, handler: handler(), call: call, index: index)
        if countRecord { metrics.records.increment() }
        if result.batchFull, record.partition == nil, record.key == nil || configuration.partitioner == .sticky,
           let count = partitionCounts[record.topic] {
            sticky.batchClosed(topic: record.topic, partition: partition, partitionCount: count)
        }
        if result.batchFull || configuration.linger == .zero || flushing > 0 {
            maybeSend()
        } else if result.createdBatch {
            scheduleWake(at: now + configuration.linger)
        }
    }

    /// Partition count of `topic`, from the producer's cache or Metadata.
    func partitionCount(of topic: String) async throws -> Int {
        if let count = partitionCounts[topic] { return count }
        let metadata = try await core.topic(topic)
        record(metadata)
        return metadata.partitionCount
    }

    func record(_ metadata: TopicMetadata) {
        partitionCounts[metadata.name] = metadata.partitionCount
        metadataRecordedAt[metadata.name] = .now
        lastPartitionCount = nil
        for partition in metadata.partitions {
            leaders[TopicPartition(topic: metadata.name, partition: partition.partition)] = partition.leader
        }
    }

    static func currentTimeMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

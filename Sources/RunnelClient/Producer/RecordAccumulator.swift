import NIOCore

/// Per-partition queues of ``ProducerBatch``es waiting to be sent (Kafka `RecordAccumulator`).
///
/// A pure value: no clock, no I/O. The producer appends records, asks which batch heads are
/// ready, and takes them out to send; failed batches that may be retried come back with
/// ``reenqueue(_:)`` and keep their place by creation order.
struct RecordAccumulator: Sendable {
    let batchSizeBytes: Int
    let linger: Duration
    let deliveryTimeout: Duration
    private(set) var queues: [TopicPartition: [ProducerBatch]] = [:]
    private var nextBatchID: UInt64 = 0
    /// The open (last, not closed) batch the latest append went to; see ``append(to:key:value:headers:timestamp:memoryBytes:now:handler:call:)``.
    private var openBatch: ProducerBatch?
    /// Buffers of acknowledged batches that new batches write into, so a busy partition does not
    /// allocate, fault in and grow (by copying) a buffer of up to `batchSizeBytes` for every batch.
    /// At most ``spareBufferLimit`` are kept, so they pin at most that many batch sizes.
    private(set) var spareBuffers: [ByteBuffer] = []
    static let spareBufferLimit = 4

    init(batchSizeBytes: Int, linger: Duration, deliveryTimeout: Duration) {
        self.batchSizeBytes = batchSizeBytes
        self.linger = linger
        self.deliveryTimeout = deliveryTimeout
    }

    /// What an append did.
    struct AppendResult: Equatable {
        /// The record started a new batch.
        var createdBatch: Bool
        /// A batch of the partition is now closed and can be sent without waiting for `linger`.
        var batchFull: Bool
    }

    /// Appends a record to the open batch of `topicPartition`, or to a new batch when there is
    /// none or the record would take it past `batchSizeBytes` (a record larger than that gets a
    /// batch of its own).
    mutating func append(to topicPartition: TopicPartition, key: ByteBuffer?, value: ByteBuffer?,
                         headers: [RecordHeader], timestamp: Int64, memoryBytes: Int,
                         now: ContinuousClock.Instant, handler: @autoclosure () -> DeliveryTarget, call: UInt64 = 0,
                         index: Int = -1) -> AppendResult {
        if let result = appendToOpenBatch(topic: topicPartition.topic, partition: topicPartition.partition, key: key,
                                          value: value, headers: headers, timestamp: timestamp, memoryBytes: memoryBytes,
                                          handler: handler(), call: call, index: index) {
            return result
        }
        let batchSizeBytes = self.batchSizeBytes
        let deliveryTimeout = self.deliveryTimeout
        let id = nextBatchID
        var created = false
        var full = false
        var open: ProducerBatch?
        var spare = spareBuffers.popLast()
        // Mutated in place through the dictionary's `_modify` accessor: no copy of the queue.
        modifyQueue(topicPartition) { queue in
            if let last = queue.indices.last, !queue[last].isClosed,
               queue[last].sizeBytes + memoryBytes <= batchSizeBytes {
                queue[last].append(key: key, value: value, headers: headers, timestamp: timestamp,
                                   memoryBytes: memoryBytes, handler: handler(), call: call, index: index)
            } else {
                if let last = queue.indices.last, !queue[last].isClosed {
                    queue[last].isClosed = true
                    full = true
                }
                let batch = ProducerBatch(id: id, topicPartition: topicPartition, now: now, deliveryTimeout: deliveryTimeout,
                                          spare: spare.take())
                batch.append(key: key, value: value, headers: headers, timestamp: timestamp,
                             memoryBytes: memoryBytes, handler: handler(), call: call, index: index)
                queue.append(batch)
                created = true
            }
            if let last = queue.indices.last, queue[last].sizeBytes >= batchSizeBytes {
                queue[last].isClosed = true
                full = true
            }
            open = queue.last.flatMap { $0.isClosed ? nil : $0 }
        }
        openBatch = open
        if let spare { spareBuffers.append(spare) }
        if created { nextBatchID += 1 }
        return AppendResult(createdBatch: created, batchFull: full)
    }

    /// The fast path of ``append(to:key:value:headers:timestamp:memoryBytes:now:handler:call:index:)``:
    /// appends to the open batch the last append went to, when it is for this partition and has
    /// room, without hashing the partition; `nil` when it cannot. The open batch is still the last
    /// of its queue: a new batch closes it, sending closes it, re-queued batches go before it,
    /// and the removals below forget it.
    /// `mutating` though it changes only the batch: the producer then reaches its accumulator in
    /// place, where a non-mutating call copied it (retaining the queues) for every record.
    mutating func appendToOpenBatch(topic: String, partition: Int32, key: ByteBuffer?, value: ByteBuffer?,
                           headers: [RecordHeader], timestamp: Int64, memoryBytes: Int,
                           handler: @autoclosure () -> DeliveryTarget, call: UInt64, index: Int) -> AppendResult? {
        guard let open = openBatch, !open.isClosed, open.topicPartition.partition == partition,
              open.topicPartition.topic == topic, open.sizeBytes + memoryBytes <= batchSizeBytes else { return nil }
        open.append(key: key, value: value, headers: headers, timestamp: timestamp,
                    memoryBytes: memoryBytes, handler: handler(), call: call, index: index)
        if open.sizeBytes >= batchSizeBytes {
            open.isClosed = true
            return AppendResult(createdBatch: false, batchFull: true)
        }
        return AppendResult(createdBatch: false, batchFull: false)
    }

    /// Keeps an acknowledged batch's buffer (``ProducerBatch/takeStorage()``) for a later batch,
    /// unless ``spareBufferLimit`` are kept already or it is larger than two batch sizes (a
    /// single oversized record's batch).
    mutating func recycle(_ buffer: ByteBuffer) {
        guard spareBuffers.count < Self.spareBufferLimit, buffer.capacity <= 2 * batchSizeBytes else { return }
        spareBuffers.append(buffer)
    }

    private mutating func modifyQueue(_ topicPartition: TopicPartition, _ body: (inout [ProducerBatch]) -> Void) {
        body(&queues[topicPartition, default: []])
    }

    /// Whether the head batch of `topicPartition` may be sent at `now`: it is closed, has waited
    /// `linger`, another batch queues behind it, or the producer is flushing; and its retry
    /// backoff has passed.
    func headIsReady(_ topicPartition: TopicPartition, now: ContinuousClock.Instant, flushing: Bool) -> Bool {
        guard let queue = queues[topicPartition], let head = queue.first else { return false }
        if let retryAt = head.retryAt, retryAt > now { return false }
        return flushing || head.isClosed || queue.count > 1 || now - head.createdAt >= linger
    }

    /// The earliest time at which some head batch becomes ready by `linger` or retry backoff.
    func nextReadyTime() -> ContinuousClock.Instant? {
        queues.values.compactMap { queue -> ContinuousClock.Instant? in
            guard let head = queue.first else { return nil }
            if let retryAt = head.retryAt { return retryAt }
            return head.createdAt + linger
        }.min()
    }

    /// In one pass over the queues: the partitions whose head batch is ready at `now` (see
    /// ``headIsReady(_:now:flushing:)``) and the earliest time another one becomes ready.
    func readyPartitions(now: ContinuousClock.Instant, flushing: Bool) -> (ready: [TopicPartition], next: ContinuousClock.Instant?) {
        var ready: [TopicPartition] = []
        var next: ContinuousClock.Instant?
        for (topicPartition, queue) in queues {
            guard let head = queue.first else { continue }
            let at = head.retryAt ?? (flushing || head.isClosed || queue.count > 1 ? now : head.createdAt + linger)
            if at <= now {
                ready.append(topicPartition)
            } else if next == nil || at < next! {
                next = at
            }
        }
        return (ready, next)
    }

    /// Removes and returns the head batch of `topicPartition`, closed.
    mutating func takeHead(_ topicPartition: TopicPartition) -> ProducerBatch? {
        var head: ProducerBatch?
        var emptied = false
        modifyQueue(topicPartition) { queue in
            guard !queue.isEmpty else { return }
            head = queue.removeFirst()
            emptied = queue.isEmpty
        }
        if emptied || head == nil { queues[topicPartition] = nil }
        head?.isClosed = true
        return head
    }

    /// Puts a batch back for a retry, before every batch created after it.
    mutating func reenqueue(_ batch: ProducerBatch) {
        modifyQueue(batch.topicPartition) { queue in
            let index = queue.firstIndex { batch.precedes($0) } ?? queue.endIndex
            queue.insert(batch, at: index)
        }
    }

    /// Removes every batch whose delivery deadline passed before `now`. Deadlines grow with
    /// creation order, which is queue order, so a queue whose head has time left is skipped.
    mutating func removeExpired(now: ContinuousClock.Instant) -> [ProducerBatch] {
        var expired: [ProducerBatch] = []
        openBatch = nil
        for (tp, queue) in queues where queue.first.map({ $0.deadline <= now }) ?? false {
            let (gone, kept) = (queue.filter { $0.deadline <= now }, queue.filter { $0.deadline > now })
            guard !gone.isEmpty else { continue }
            expired += gone
            queues[tp] = kept.isEmpty ? nil : kept
        }
        return expired
    }

    /// Removes every queued batch (on close without flush).
    mutating func removeAll() -> [ProducerBatch] {
        defer { queues = [:]; openBatch = nil }
        return queues.values.flatMap { $0 }
    }

    var isEmpty: Bool { queues.isEmpty }
    var partitions: [TopicPartition] { Array(queues.keys) }
}

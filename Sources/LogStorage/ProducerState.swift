import KafkaProtocol

/// Why an idempotent producer's batch was refused before append (KIP-98, KIP-360), with the Kafka
/// error code the Produce response carries for its partition.
public enum ProducerStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The batch's epoch is older than the one this partition last saw for the producer id (a
    /// fenced, zombie producer). Becomes INVALID_PRODUCER_EPOCH (47), as Kafka 2.7+ answers.
    case invalidProducerEpoch(producerID: Int64, epoch: Int16, currentEpoch: Int16)
    /// The batch does not continue the producer's sequence: in the current epoch its first
    /// sequence is not the last sequence + 1 (wrapping `Int32.max` → 0), or in a newer epoch it
    /// does not start at 0. Becomes OUT_OF_ORDER_SEQUENCE_NUMBER (45).
    case outOfOrderSequence(producerID: Int64, epoch: Int16, firstSequence: Int32, expectedSequence: Int32)

    /// The error code to answer the partition with.
    public var kafkaErrorCode: ErrorCode {
        switch self {
        case .invalidProducerEpoch: return .invalidProducerEpoch
        case .outOfOrderSequence: return .outOfOrderSequenceNumber
        }
    }

    /// A human-readable explanation, suitable for the Produce response's `error_message`.
    public var message: String {
        switch self {
        case .invalidProducerEpoch(let id, let epoch, let current):
            return "Epoch of producer \(id) is \(epoch), which is smaller than the last seen epoch \(current)"
        case .outOfOrderSequence(let id, let epoch, let first, let expected):
            return "Out of order sequence number for producer \(id) at epoch \(epoch): \(first) (incoming seq. number), \(expected) (expected seq. number)"
        }
    }

    public var description: String { message }
}

/// The idempotent-producer state of one partition (Kafka `ProducerStateManager` /
/// `ProducerStateEntry` / `ProducerAppendInfo`, KIP-98 and KIP-360), as a pure value: no I/O, no clock.
///
/// Per producer id it keeps the current epoch, the metadata of the last
/// ``batchesToRetain`` (5) appended batches of that epoch, oldest first, and the wall time of the
/// last append (for `producer.id.expiration.ms`).
///
/// Use on the produce path, one batch at a time and in request order:
/// 1. ``check(_:)`` before appending: `nil` → append; an offset → the batch is an exact duplicate,
///    answer with that base offset and do not append; a thrown ``ProducerStateError`` → answer its code.
/// 2. after the append succeeded, ``update(_:baseOffset:appendTimeMs:)`` with the assigned base offset.
///
/// When rebuilding from the log (recovery, or after loading a snapshot older than the log end),
/// call only ``update(_:baseOffset:appendTimeMs:)`` for every batch in offset order: it never validates.
///
/// Transactions are out of scope: control batches (attribute bit 5) are ignored by every method.
public struct ProducerStateManager: Sendable, Equatable {
    /// Kafka `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`: as many batches as a producer may have in
    /// flight (`max.in.flight.requests.per.connection` ≤ 5 with idempotence).
    public static let batchesToRetain = 5

    /// Kafka `RecordBatch.NO_PRODUCER_EPOCH`.
    static let noProducerEpoch: Int16 = -1

    /// What is remembered of one appended batch (Kafka `BatchMetadata`).
    public struct BatchMetadata: Sendable, Equatable {
        /// The batch's base sequence.
        public var firstSequence: Int32
        /// `baseSequence + lastOffsetDelta`, wrapping `Int32.max` → 0.
        public var lastSequence: Int32
        /// The base offset the log assigned to the batch.
        public var firstOffset: Int64
        /// `firstOffset + lastOffsetDelta`.
        public var lastOffset: Int64
        /// The batch's maxTimestamp (ms); for LogAppendTime topics the append time.
        public var maxTimestamp: Int64

        public init(firstSequence: Int32, lastSequence: Int32, firstOffset: Int64, lastOffset: Int64, maxTimestamp: Int64) {
            self.firstSequence = firstSequence
            self.lastSequence = lastSequence
            self.firstOffset = firstOffset
            self.lastOffset = lastOffset
            self.maxTimestamp = maxTimestamp
        }
    }

    /// The state of one producer id. Invariant: 1…5 batches, all of epoch ``epoch``, oldest first.
    public struct ProducerEntry: Sendable, Equatable {
        /// The producer's current epoch (the epoch of every retained batch).
        public internal(set) var epoch: Int16
        /// The last (at most 5) batches of this epoch, oldest first.
        public internal(set) var batches: [BatchMetadata]
        /// Wall-clock ms of the last append (the `appendTimeMs` given to `update`), for expiry.
        public internal(set) var lastAppendTimeMs: Int64

        /// The last sequence of the newest batch.
        public var lastSequence: Int32 { batches.last?.lastSequence ?? -1 }
        /// The last offset of the newest batch.
        public var lastOffset: Int64 { batches.last?.lastOffset ?? -1 }

        init(epoch: Int16, batches: [BatchMetadata], lastAppendTimeMs: Int64) {
            self.epoch = epoch
            self.batches = batches
            self.lastAppendTimeMs = lastAppendTimeMs
        }

        /// The retained batch of the current epoch with exactly this sequence range (Kafka
        /// `ProducerStateEntry.findDuplicateBatch`).
        func batch(epoch: Int16, firstSequence: Int32, lastSequence: Int32) -> BatchMetadata? {
            guard epoch == self.epoch else { return nil }
            return batches.first { $0.firstSequence == firstSequence && $0.lastSequence == lastSequence }
        }
    }

    /// The known producers by producer id.
    public private(set) var producers: [Int64: ProducerEntry]

    public init() { producers = [:] }

    /// Built from decoded snapshot entries (each must hold 1…5 batches).
    init(producers: [Int64: ProducerEntry]) { self.producers = producers }

    /// How many producer ids have state.
    public var count: Int { producers.count }

    public var isEmpty: Bool { producers.isEmpty }

    /// The state of `producerID`, if any.
    public func entry(for producerID: Int64) -> ProducerEntry? { producers[producerID] }

    // MARK: - Sequence arithmetic (Kafka `DefaultRecordBatch.incrementSequence`)

    /// The last sequence of a batch: `baseSequence + lastOffsetDelta`, wrapping past `Int32.max` to 0.
    public static func lastSequence(baseSequence: Int32, lastOffsetDelta: Int32) -> Int32 {
        var sum = Int64(baseSequence) + Int64(lastOffsetDelta)
        if sum > Int64(Int32.max) { sum -= Int64(Int32.max) + 1 }
        return Int32(truncatingIfNeeded: sum)
    }

    /// Whether `next` directly follows `last` (Kafka `ProducerAppendInfo.inSequence`).
    public static func isInSequence(last: Int32, next: Int32) -> Bool {
        Int64(next) == Int64(last) + 1 || (next == 0 && last == Int32.max)
    }

    /// The sequence that must follow `last`.
    static func sequence(after last: Int32) -> Int32 {
        last == Int32.max ? 0 : last + 1
    }

    /// Whether the batch takes part in idempotence at all (Kafka `RecordBatch.hasProducerId`),
    /// leaving out transaction markers.
    static func isIdempotentData(_ header: RecordBatchHeader) -> Bool {
        header.producerID >= 0 && !header.isControl
    }

    // MARK: - Produce path

    /// The retained batch that `header` exactly duplicates: same producer id and epoch, same
    /// first and last sequence (Kafka `ProducerStateEntry.findDuplicateBatch`). A broker can take
    /// the original offsets and timestamp from it for the response.
    public func duplicate(of header: RecordBatchHeader) -> BatchMetadata? {
        guard Self.isIdempotentData(header), let entry = producers[header.producerID] else { return nil }
        return entry.batch(epoch: header.producerEpoch, firstSequence: header.baseSequence,
                           lastSequence: Self.lastSequence(baseSequence: header.baseSequence,
                                                           lastOffsetDelta: header.lastOffsetDelta))
    }

    /// Validates an incoming produce batch before it is appended (Kafka
    /// `UnifiedLog.analyzeAndValidateProducerState` with origin CLIENT, then
    /// `ProducerAppendInfo.checkProducerEpoch` and `checkSequence`).
    ///
    /// - Returns: the original base offset when the batch exactly duplicates one of the producer's
    ///   last 5 batches (do not append; answer success with that offset); `nil` when the batch
    ///   should be appended, including every batch with `producerID < 0` (not idempotent) and
    ///   every batch of a producer id without state (KIP-360: any sequence is accepted).
    /// - Throws: ``ProducerStateError/invalidProducerEpoch(producerID:epoch:currentEpoch:)`` when
    ///   the epoch is older than the known one; ``ProducerStateError/outOfOrderSequence(producerID:epoch:firstSequence:expectedSequence:)``
    ///   when a newer epoch does not start at sequence 0, or the same epoch does not continue at
    ///   last sequence + 1.
    public func check(_ header: RecordBatchHeader) throws(ProducerStateError) -> Int64? {
        try validate(header)?.firstOffset
    }

    /// ``check(_:)`` returning the whole retained batch a duplicate repeats (its offsets and max
    /// timestamp, which a LogAppendTime topic answers with), so callers look it up once.
    public func validate(_ header: RecordBatchHeader) throws(ProducerStateError) -> BatchMetadata? {
        guard Self.isIdempotentData(header), let entry = producers[header.producerID] else { return nil }
        if let original = duplicate(of: header) { return original }
        let epoch = header.producerEpoch
        let first = header.baseSequence
        if epoch < entry.epoch {
            throw .invalidProducerEpoch(producerID: header.producerID, epoch: epoch, currentEpoch: entry.epoch)
        }
        // Kafka accepts any sequence when the known epoch is NO_PRODUCER_EPOCH (-1).
        guard entry.epoch != Self.noProducerEpoch else { return nil }
        if epoch > entry.epoch {
            guard first == 0 else {
                throw .outOfOrderSequence(producerID: header.producerID, epoch: epoch, firstSequence: first, expectedSequence: 0)
            }
            return nil
        }
        guard Self.isInSequence(last: entry.lastSequence, next: first) else {
            throw .outOfOrderSequence(producerID: header.producerID, epoch: epoch, firstSequence: first,
                                      expectedSequence: Self.sequence(after: entry.lastSequence))
        }
        return nil
    }

    /// Records an appended batch, without validation (Kafka `ProducerStateEntry.addBatch`): a
    /// different epoch (newer, or anything while rebuilding from the log) replaces the producer's
    /// batches; otherwise the batch is added and only the newest 5 are kept.
    /// Batches with `producerID < 0` and control batches are ignored.
    ///
    /// - Parameters:
    ///   - header: the batch header; its own `baseOffset` field is ignored.
    ///   - baseOffset: the offset the log assigned to the batch's first record.
    ///   - appendTimeMs: wall-clock ms of the append, the start of the producer's expiry period.
    ///     When rebuilding from the log pass the current time (the producer then expires no
    ///     earlier than `producer.id.expiration.ms` after the restart) or, like Kafka, the batch's
    ///     `maxTimestamp`.
    public mutating func update(_ header: RecordBatchHeader, baseOffset: Int64, appendTimeMs: Int64) {
        guard Self.isIdempotentData(header) else { return }
        let batch = BatchMetadata(
            firstSequence: header.baseSequence,
            lastSequence: Self.lastSequence(baseSequence: header.baseSequence, lastOffsetDelta: header.lastOffsetDelta),
            firstOffset: baseOffset,
            lastOffset: baseOffset + Int64(header.lastOffsetDelta),
            maxTimestamp: header.maxTimestamp)
        guard var entry = producers[header.producerID], entry.epoch == header.producerEpoch else {
            producers[header.producerID] = ProducerEntry(epoch: header.producerEpoch, batches: [batch],
                                                         lastAppendTimeMs: appendTimeMs)
            return
        }
        if entry.batches.count >= Self.batchesToRetain {
            entry.batches.removeFirst(entry.batches.count - Self.batchesToRetain + 1)
        }
        entry.batches.append(batch)
        entry.lastAppendTimeMs = appendTimeMs
        producers[header.producerID] = entry
    }

    // MARK: - Expiry and truncation

    /// Forgets producers idle for at least `expirationMs` (`producer.id.expiration.ms`, Kafka
    /// default 86 400 000): `nowMs - lastAppendTimeMs >= expirationMs`, as Kafka's
    /// `ProducerStateManager.isProducerExpired`. A forgotten producer's next batch is accepted
    /// with any sequence (KIP-360).
    public mutating func removeExpired(nowMs: Int64, expirationMs: Int64) {
        producers = producers.filter { nowMs - $0.value.lastAppendTimeMs < expirationMs }
    }

    /// After the log was truncated so that `offset` is its new end: drops every retained batch
    /// that does not lie wholly below `offset` (`lastOffset >= offset`), and producers left with
    /// none (their next batch is then accepted with any sequence).
    ///
    /// This is an approximation: Kafka instead reloads the newest snapshot at or below the new log
    /// end and replays the log after it, which also restores batches older than the retained 5.
    /// Do that instead where snapshots exist.
    public mutating func removeBatches(from offset: Int64) {
        for (id, var entry) in producers where entry.batches.contains(where: { $0.lastOffset >= offset }) {
            entry.batches.removeAll { $0.lastOffset >= offset }
            producers[id] = entry.batches.isEmpty ? nil : entry
        }
    }
}

/// The idempotent producer's id, epoch and per-partition sequence numbers (Kafka's
/// `TransactionManager` for a producer without a transactional id; KIP-98 and KIP-360), as a pure
/// value the ``Producer`` asks before it sends and tells what the broker answered.
///
/// Rules:
/// - Each partition's batches get consecutive sequence numbers, starting at 0 in every epoch, in
///   the order they are first sent; a retry in the same epoch keeps its sequence, so the broker
///   recognises a batch it already has (DUPLICATE_SEQUENCE_NUMBER) and the log holds it once.
/// - OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID for a batch behind an earlier batch of its
///   partition that is itself waiting to be retried is expected (the earlier one never arrived):
///   retry in order, nothing else. For the first unresolved batch of its partition it means the
///   broker lost or never had the sequence before it: bump the epoch (KIP-360).
/// - A batch that fails for good after it was given a sequence in the current epoch leaves a gap
///   the broker would refuse forever: bump the epoch.
/// - The bump waits until no batch of any partition is in flight (their outcome decides what is
///   resent), then restarts every partition at sequence 0; batches still queued are stamped again
///   when they are sent, in queue order. At the last epoch a new producer id is requested instead.
struct IdempotenceState: Sendable {
    struct Identity: Equatable, Sendable {
        var producerID: Int64
        var epoch: Int16
    }

    /// The producer id and epoch batches are sent with; `nil` until InitProducerId answered.
    private(set) var identity: Identity?
    /// A batch left a gap or the broker lost our sequence; see ``prepareToSend(anyInFlight:)``.
    private(set) var epochBumpPending = false
    private var nextSequence: [TopicPartition: Int32] = [:]

    /// What the producer may do before it sends.
    enum SendGate: Equatable {
        /// Send; batches are stamped with ``identity``.
        case send
        /// An epoch bump waits for the batches in flight.
        case waitForInFlight
        /// No producer id (yet, or the epoch ran out): get one with InitProducerId first.
        case initProducerID
    }

    /// Starts over with a new producer id and epoch from InitProducerId.
    mutating func assign(producerID: Int64, epoch: Int16) {
        identity = Identity(producerID: producerID, epoch: epoch)
        nextSequence = [:]
        epochBumpPending = false
    }

    /// Whether batches may be sent now; bumps the epoch first when one is pending and nothing is
    /// in flight.
    mutating func prepareToSend(anyInFlight: Bool) -> SendGate {
        if epochBumpPending {
            if anyInFlight { return .waitForInFlight }
            bumpEpoch()
        }
        return identity == nil ? .initProducerID : .send
    }

    /// Gives `batch` the next sequence numbers of its partition in the current epoch, unless it
    /// already has them (a retry in the same epoch). Call as the batch leaves for the broker, in
    /// queue order.
    mutating func stamp(_ batch: ProducerBatch) {
        guard let identity, !hasCurrentSequence(batch) else { return }
        let sequence = nextSequence[batch.topicPartition, default: 0]
        batch.producerID = identity.producerID
        batch.producerEpoch = identity.epoch
        batch.baseSequence = sequence
        nextSequence[batch.topicPartition] = ProducerBatch.sequence(sequence, plus: batch.count)
    }

    /// The broker refused `batch`'s sequence or producer id (OUT_OF_ORDER_SEQUENCE_NUMBER,
    /// UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH); the batch is retried either way.
    /// - Parameter earlierBatchPending: an earlier batch of the partition waits to be retried,
    ///   so this one merely arrived before it.
    mutating func sequenceRejected(_ batch: ProducerBatch, earlierBatchPending: Bool) {
        if !earlierBatchPending, hasCurrentSequence(batch) { epochBumpPending = true }
    }

    /// `batch` will never be sent again (delivery timeout, a non-retriable error).
    mutating func failedForGood(_ batch: ProducerBatch) {
        if hasCurrentSequence(batch) { epochBumpPending = true }
    }

    /// Whether the batch carries a sequence of the current producer id and epoch.
    private func hasCurrentSequence(_ batch: ProducerBatch) -> Bool {
        guard let identity else { return false }
        return batch.baseSequence >= 0 && batch.producerID == identity.producerID && batch.producerEpoch == identity.epoch
    }

    private mutating func bumpEpoch() {
        epochBumpPending = false
        nextSequence = [:]
        guard let current = identity, current.epoch < Int16.max - 1 else {
            identity = nil
            return
        }
        identity = Identity(producerID: current.producerID, epoch: current.epoch + 1)
    }
}

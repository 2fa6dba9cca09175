/// Runs delivery handlers off the producer actor, one batch after another in the order the
/// producer finished them, so the actor goes on batching while applications handle results, and
/// each partition's records are reported in offset order (as the Java client promises).
///
/// ``pending`` counts batches handed over but not yet reported; ``Producer/flush()`` waits for it
/// to reach zero, so every handler has run when `flush` returns.
final class DeliveryQueue: Sendable {
    enum Outcome: Sendable {
        case success(baseOffset: Int64, logAppendTime: Int64)
        case failure(any Error)
    }

    private let continuation: AsyncStream<(ProducerBatch, Outcome)>.Continuation
    private let task: Task<Void, Never>

    /// - Parameter onReported: called after each batch's handlers ran.
    init(onReported: @escaping @Sendable () async -> Void) {
        let (stream, continuation) = AsyncStream<(ProducerBatch, Outcome)>.makeStream()
        self.continuation = continuation
        self.task = Task.detached {
            for await (batch, outcome) in stream {
                switch outcome {
                case .success(let baseOffset, let logAppendTime): batch.complete(baseOffset: baseOffset, logAppendTime: logAppendTime)
                case .failure(let error): batch.fail(error)
                }
                await onReported()
            }
        }
    }

    /// Hands a finished batch over; the producer must not touch it afterwards.
    func report(_ batch: ProducerBatch, _ outcome: Outcome) {
        continuation.yield((batch, outcome))
    }

    /// Reports what was handed over, then stops.
    func finish() async {
        continuation.finish()
        await task.value
    }
}

import Testing
@testable import RunnelClient

@Suite("Idempotent producer sequence and epoch rules (KIP-98, KIP-360)")
struct IdempotenceStateTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)
    var nextID: UInt64 = 0

    mutating func batch(_ tp: TopicPartition, records: Int) -> ProducerBatch {
        let batch = ProducerBatch(id: nextID, topicPartition: tp, now: .now, deliveryTimeout: .seconds(120))
        nextID += 1
        for _ in 0..<records {
            batch.append(key: nil, value: nil, headers: [], timestamp: 0, memoryBytes: 1, handler: .single { _ in })
        }
        return batch
    }

    func stamps(_ batches: [ProducerBatch]) -> [String] {
        batches.map { "e\($0.producerEpoch)s\($0.baseSequence)" }
    }

    @Test("no batch is stamped before InitProducerId; then each partition counts from 0 and a retry keeps its sequence")
    mutating func stamping() {
        var state = IdempotenceState()
        #expect(state.prepareToSend(anyInFlight: false) == .initProducerID)
        let (a, b, c) = (batch(p0, records: 3), batch(p0, records: 2), batch(p1, records: 4))
        state.stamp(a)
        #expect(a.baseSequence == -1)
        state.assign(producerID: 7, epoch: 0)
        #expect(state.prepareToSend(anyInFlight: false) == .send)
        for batch in [a, b, c] { state.stamp(batch) }
        #expect(stamps([a, b, c]) == ["e0s0", "e0s3", "e0s0"])
        state.stamp(a)  // retried in the same epoch: the broker must see the same sequence again
        #expect(stamps([a]) == ["e0s0"] && a.producerID == 7)
        let d = batch(p0, records: 1)
        state.stamp(d)
        #expect(d.baseSequence == 5)
    }

    @Test("OUT_OF_ORDER behind an earlier batch waiting for its retry is retried without a bump")
    mutating func outOfOrderBehindFailedBatch() {
        var state = IdempotenceState()
        state.assign(producerID: 1, epoch: 0)
        let (a, b) = (batch(p0, records: 2), batch(p0, records: 2))
        state.stamp(a)
        state.stamp(b)
        // a failed with a connection error and is queued again; b arrived without it.
        state.sequenceRejected(b, earlierBatchPending: true)
        #expect(!state.epochBumpPending)
        #expect(state.prepareToSend(anyInFlight: false) == .send)
        state.stamp(a)
        state.stamp(b)
        #expect(stamps([a, b]) == ["e0s0", "e0s2"])
    }

    @Test("OUT_OF_ORDER for the first unresolved batch bumps the epoch once nothing is in flight; sequences restart at 0 in queue order")
    mutating func outOfOrderAtHeadBumps() {
        var state = IdempotenceState()
        state.assign(producerID: 1, epoch: 3)
        let (a, b, c) = (batch(p0, records: 2), batch(p0, records: 2), batch(p1, records: 5))
        for batch in [a, b, c] { state.stamp(batch) }
        state.sequenceRejected(a, earlierBatchPending: false)  // the broker lost what came before a
        #expect(state.epochBumpPending)
        #expect(state.prepareToSend(anyInFlight: true) == .waitForInFlight)
        #expect(state.identity?.epoch == 3)
        // b's rejection arrives after: it is of the same epoch, still one bump.
        state.sequenceRejected(b, earlierBatchPending: true)
        #expect(state.prepareToSend(anyInFlight: false) == .send)
        #expect(state.identity == .init(producerID: 1, epoch: 4) && !state.epochBumpPending)
        for batch in [a, b, c] { state.stamp(batch) }
        #expect(stamps([a, b, c]) == ["e4s0", "e4s2", "e4s0"])
        // A late rejection of a batch sent in the old epoch asks for no second bump.
        let old = batch(p0, records: 1)
        old.producerID = 1
        old.producerEpoch = 3
        old.baseSequence = 9
        state.sequenceRejected(old, earlierBatchPending: false)
        state.failedForGood(old)
        #expect(!state.epochBumpPending)
    }

    @Test("a batch that fails for good with a current sequence forces a bump; one never sent does not")
    mutating func failedForGood() {
        var state = IdempotenceState()
        state.assign(producerID: 1, epoch: 0)
        let neverSent = batch(p0, records: 1)
        state.failedForGood(neverSent)
        #expect(!state.epochBumpPending)
        let (a, b) = (batch(p0, records: 1), batch(p0, records: 1))
        state.stamp(a)
        state.stamp(b)
        state.failedForGood(a)  // delivery timeout: sequence 0 is a gap now
        #expect(state.epochBumpPending)
        #expect(state.prepareToSend(anyInFlight: false) == .send)
        state.stamp(b)
        #expect(stamps([b]) == ["e1s0"])
    }

    @Test("at the last epoch a bump asks for a new producer id")
    func epochExhausted() {
        var state = IdempotenceState()
        state.assign(producerID: 1, epoch: Int16.max - 1)
        let a = ProducerBatch(id: 0, topicPartition: p0, now: .now, deliveryTimeout: .seconds(1))
        a.append(key: nil, value: nil, headers: [], timestamp: 0, memoryBytes: 1, handler: .single { _ in })
        state.stamp(a)
        state.failedForGood(a)
        #expect(state.prepareToSend(anyInFlight: false) == .initProducerID)
        #expect(state.identity == nil)
    }
}

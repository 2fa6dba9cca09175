/// Sticky partitioning for records without a key (KIP-480): all of them go to one partition per
/// topic until that partition's batch is sent or full, then a different partition is chosen at
/// random, so batches fill up instead of spreading thin.
struct StickyPartitioner {
    private var current: [String: Int32] = [:]
    private var generator: any RandomNumberGenerator

    init(generator: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.generator = generator
    }

    /// The sticky partition of `topic`, picking one when there is none (or it is out of range).
    mutating func partition(topic: String, partitionCount: Int) -> Int32 {
        if let chosen = current[topic], chosen < partitionCount { return chosen }
        let chosen = Int32(Int.random(in: 0..<partitionCount, using: &generator))
        current[topic] = chosen
        return chosen
    }

    /// Moves `topic` to another partition once the batch for `finished` has been closed. Does
    /// nothing when the topic has already moved on from `finished`.
    mutating func batchClosed(topic: String, partition finished: Int32, partitionCount: Int) {
        guard current[topic] == finished else { return }
        if partitionCount <= 1 { current[topic] = 0; return }
        var next = Int32(Int.random(in: 0..<(partitionCount - 1), using: &generator))
        if next >= finished { next += 1 }
        current[topic] = next
    }
}

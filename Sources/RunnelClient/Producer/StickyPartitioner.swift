/// Sticky partitioning for records without a key (KIP-480): all of them go to one partition per
/// topic until that partition's batch is sent or full, then a different partition is chosen at
/// random, so batches fill up instead of spreading thin.
struct StickyPartitioner {
    private var current: [String: Int32] = [:]
    /// The last topic asked about and its partition, so a stream of records for one topic does
    /// not hash the topic name each time.
    private var last: (topic: String, partition: Int32)?
    private var generator: any RandomNumberGenerator

    init(generator: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.generator = generator
    }

    /// The sticky partition of `topic`, picking one when there is none (or it is out of range).
    mutating func partition(topic: String, partitionCount: Int) -> Int32 {
        if let last, last.topic == topic, last.partition < partitionCount { return last.partition }
        if let chosen = current[topic], chosen < partitionCount {
            last = (topic, chosen)
            return chosen
        }
        let chosen = Int32(Int.random(in: 0..<partitionCount, using: &generator))
        current[topic] = chosen
        last = (topic, chosen)
        return chosen
    }

    /// Moves `topic` to another partition once the batch for `finished` has been closed. Does
    /// nothing when the topic has already moved on from `finished`.
    mutating func batchClosed(topic: String, partition finished: Int32, partitionCount: Int) {
        guard current[topic] == finished else { return }
        last = nil
        if partitionCount <= 1 { current[topic] = 0; return }
        var next = Int32(Int.random(in: 0..<(partitionCount - 1), using: &generator))
        if next >= finished { next += 1 }
        current[topic] = next
    }
}

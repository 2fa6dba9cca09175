import KafkaProtocol

extension Controller {
    /// Forgets, in every partition, idempotent producers idle for `expirationMs`.
    func removeExpiredProducers(nowMs: Int64, expirationMs: Int64) async {
        for partition in partitionsHosted { await partition.removeExpiredProducers(nowMs: nowMs, expirationMs: expirationMs) }
    }

    /// How many producer ids one `ProducerIdsRecord` reserves (Kafka's `ProducerIdsBlock` size).
    static let producerIDBlockSize: Int64 = 1000

    /// Hands out a new producer id (InitProducerId for an idempotent producer). Ids are reserved
    /// in blocks recorded in the metadata log (fsynced) before any of them is used, so no id is
    /// handed out twice, across restarts too; a restart skips the rest of the block.
    /// - Throws: a storage error when the metadata log cannot be written.
    func allocateProducerID() throws -> Int64 {
        if producerIDBlock.isEmpty {
            let start = image.nextProducerID
            let record = MetadataRecord.producerIDs(brokerID: nodeID, brokerEpoch: 0, nextProducerID: start + Self.producerIDBlockSize)
            try metadataLog.append([record], nowMs: Self.nowMs())
            image.apply(record)
            producerIDBlock = start..<(start + Self.producerIDBlockSize)
        }
        let id = producerIDBlock.lowerBound
        producerIDBlock = (id + 1)..<producerIDBlock.upperBound
        return id
    }
}

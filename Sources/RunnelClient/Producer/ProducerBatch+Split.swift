import KafkaProtocol
import NIOCore

extension ProducerBatch {
    /// Splits the batch into two halves by record count, for a broker that refused it with
    /// MESSAGE_TOO_LARGE (its `max.message.bytes` is below `batch.size`), as the Java client's
    /// `RecordAccumulator.splitAndReenqueue` does; the halves are split again if still too large.
    ///
    /// Each record keeps its timestamp, delivery handler and buffer memory; the parts keep the
    /// batch's creation time and deadline. When the batch carried sequence numbers the parts take
    /// its range in order (first part at the base sequence), so the partition's sequence stays
    /// contiguous and no epoch bump is needed.
    /// - Precondition: at least two records.
    func split() -> [ProducerBatch] {
        precondition(count > 1, "a batch of \(count) record cannot be split")
        var reader = KafkaReader(records, flexible: false)
        var decoded: [Record] = []
        decoded.reserveCapacity(Int(count))
        while reader.remaining > 0 {
            // The records were encoded by `append`: failing to read them back is a broken invariant.
            guard let record = try? Record.decode(from: &reader) else {
                preconditionFailure("batch \(id) of \(topicPartition) holds records that do not decode")
            }
            decoded.append(record)
        }
        let timestamps = self.timestamps
        let handlers = self.handlers
        precondition(decoded.count == Int(count) && timestamps.count == decoded.count && handlers.count == decoded.count,
                     "batch \(id) of \(topicPartition): \(decoded.count) records decoded, \(count) appended")
        let half = decoded.count / 2 + decoded.count % 2
        let parts = [ProducerBatch(partOf: self, index: 0), ProducerBatch(partOf: self, index: 1)]
        for (index, record) in decoded.enumerated() {
            let headers = record.headers.map { RecordHeader(key: $0.key, value: $0.value) }
            parts[index < half ? 0 : 1].append(
                key: record.key, value: record.value, headers: headers, timestamp: timestamps[index],
                memoryBytes: Self.estimatedSize(key: record.key, value: record.value, headers: headers),
                handler: handlers[index])
        }
        // The memory reserved per record was this same estimate; any rounding goes to the last part.
        parts[1].addMemory(memoryBytes - parts[0].memoryBytes - parts[1].memoryBytes)
        var sequence = baseSequence
        for part in parts {
            part.isClosed = true
            part.attempts = attempts
            if baseSequence >= 0 {
                part.producerID = producerID
                part.producerEpoch = producerEpoch
                part.baseSequence = sequence
                sequence = ProducerBatch.sequence(sequence, plus: part.count)
            }
        }
        return parts
    }

    /// `sequence + count`, wrapping from `Int32.max` to 0 (Kafka `DefaultRecordBatch.incrementSequence`).
    static func sequence(_ sequence: Int32, plus count: Int32) -> Int32 {
        let next = Int64(sequence) + Int64(count)
        return Int32(truncatingIfNeeded: next > Int64(Int32.max) ? next - Int64(Int32.max) - 1 : next)
    }
}

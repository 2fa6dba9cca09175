import GroupCoordinator
import KafkaProtocol
import LogStorage
import Logging
import NIOCore

/// `__consumer_offsets` as the group coordinator's storage: each shard appends uncompressed
/// batches to its partition and reads them back at start-up.
struct ConsumerOffsetsStore: OffsetsTopicStore {
    let controller: Controller
    /// How long an append waits for the ISR (Kafka's `offsets.commit.timeout.ms` default).
    static let commitTimeout = Duration.seconds(5)

    private func partition(_ index: Int32) async throws -> Partition {
        guard let partition = await controller.partition(TopicPartition(TopicName.consumerOffsets, index)) else {
            throw OffsetsTopicStoreError(errorCode: .notCoordinator,
                                         description: "\(TopicName.consumerOffsets)-\(index) is not hosted on this broker")
        }
        return partition
    }

    func append(partition index: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)], timestampMs: Int64) async throws -> Int64 {
        var builder = RecordBatchBuilder(baseTimestamp: timestampMs)
        for record in records { builder.append(key: record.key, value: record.value) }
        let partition = try await partition(index)
        do {
            // As Kafka's coordinator: acks=all, so a commit survives the loss of the leader.
            let appended = try await partition.append(builder.build(), nowMs: timestampMs, origin: .coordinator, requiredAcks: -1)
            // Parked: the followers' fetches do this work, not this request (as the Produce wait).
            let code = await RequestTimer.parked {
                await partition.awaitCommit(lastOffset: appended.lastOffset, timeout: Self.commitTimeout)
            }
            guard code == .none else {
                throw OffsetsTopicStoreError(errorCode: Self.groupErrorCode(for: code),
                                             description: "\(TopicName.consumerOffsets)-\(index) did not replicate the append: \(code)")
            }
            // runnel.flush.on.ack (broker default or on __consumer_offsets): a commit is answered
            // once synced, as a produce is.
            try await RequestTimer.parked { try await appended.durability?.waitUntilFlushed(through: appended.lastOffset + 1) }
            return appended.baseOffset
        } catch let error as OffsetsTopicStoreError {
            throw error
        } catch {
            throw OffsetsTopicStoreError(errorCode: Self.groupErrorCode(for: errorCode(for: error)),
                                         description: "append to \(TopicName.consumerOffsets)-\(index) failed: \(error)")
        }
    }

    /// How Kafka answers a group request whose append failed (`GroupMetadataManager.storeOffsets`):
    /// a batch too large is the client's problem (INVALID_COMMIT_OFFSET_SIZE); a storage error or a
    /// lost leadership sends it to look for the coordinator again; anything else is retriable.
    static func groupErrorCode(for appendError: ErrorCode) -> ErrorCode {
        switch appendError {
        case .messageTooLarge, .recordListTooLarge, .invalidFetchSize: return .invalidCommitOffsetSize
        case .notLeaderOrFollower, .kafkaStorageError: return .notCoordinator
        default: return .coordinatorNotAvailable
        }
    }

    func read(partition index: Int32, from offset: Int64, maxBytes: Int) async throws
        -> (records: [(offset: Int64, key: ByteBuffer?, value: ByteBuffer?)], nextOffset: Int64, logEndOffset: Int64) {
        let partition = try await partition(index)
        let start = max(offset, await partition.logStartOffset)
        let result = try await partition.read(from: start, maxBytes: maxBytes, isReplica: true, requireLeader: false)
        let logEnd = await partition.logEndOffset
        var records: [(offset: Int64, key: ByteBuffer?, value: ByteBuffer?)] = []
        var next = start
        var batches = result.records
        while let (header, batch) = batches.readRecordBatch() {
            next = header.nextOffset
            for record in try RecordBatchHeader.records(of: batch, maxUncompressedBytes: 64 << 20) {
                let offset = header.baseOffset + Int64(record.offsetDelta)
                if offset >= start { records.append((offset, record.key, record.value)) }
            }
        }
        return (records, next, logEnd)
    }
}

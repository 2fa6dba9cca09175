import Foundation
import KafkaProtocol
import LogStorage
import NIOCore

extension RequestHandlers {
    /// Produce v0-9. acks must be -1, 0 or 1. acks=1 is answered once the leader appended; acks=all
    /// once the high watermark passed every appended batch (the produce purgatory), or with
    /// REQUEST_TIMED_OUT after the request's `timeout_ms`, NOT_ENOUGH_REPLICAS(_AFTER_APPEND) when
    /// the ISR is below `min.insync.replicas`, NOT_LEADER_OR_FOLLOWER when leadership moved
    /// meanwhile. Every partition is appended before any is waited for. Versions 0-2 may carry a
    /// legacy message set (magic 0 or 1), which is up-converted into one magic-2 batch first
    /// (``legacyRecordsAsBatch(_:partition:)``); everything after that is the v3+ append path.
    /// With `runnel.flush.on.ack`, acks=1 and acks=all answers also wait until the leader synced
    /// each batch (``LogFlusher``), KAFKA_STORAGE_ERROR when the sync failed; acks=0 never waits.
    func produce(_ request: ProduceRequest, version: Int16, context: RequestContext) async -> ProduceResponse {
        func allFailed(_ code: ErrorCode, _ message: String?) -> ProduceResponse {
            ProduceResponse(responses: request.topicData.map { topic in
                .init(name: topic.name, partitionResponses: topic.partitionData.map {
                    .init(index: $0.index, errorCode: code, baseOffset: -1, errorMessage: message)
                })
            })
        }
        guard [-1, 0, 1].contains(request.acks) else {
            return allFailed(.invalidRequiredAcks, "acks must be -1, 0 or 1, got \(request.acks)")
        }
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        var responses: [ProduceResponse.TopicResponse] = []
        var pending: [(topic: Int, partition: Int, replica: Partition, lastOffset: Int64)] = []
        var unsynced: [(topic: Int, partition: Int, flusher: LogFlusher, lastOffset: Int64)] = []
        for topic in request.topicData {
            if let refused = topicAuthorizationError(.write, topic: topic.name) {
                responses.append(.init(name: topic.name, partitionResponses: topic.partitionData.map {
                    .init(index: $0.index, errorCode: refused, baseOffset: -1)
                }))
                continue
            }
            var partitions: [ProduceResponse.PartitionResponse] = []
            for data in topic.partitionData {
                let (response, appended) = await appendOne(topic: topic.name, data: data, version: version, nowMs: nowMs,
                                                           acks: request.acks, context: context)
                if let appended, request.acks == -1 {
                    pending.append((responses.count, partitions.count, appended.partition, appended.lastOffset))
                }
                if let appended, request.acks != 0, let flusher = appended.durability {
                    unsynced.append((responses.count, partitions.count, flusher, appended.lastOffset))
                }
                partitions.append(response)
            }
            responses.append(.init(name: topic.name, partitionResponses: partitions))
        }
        if !pending.isEmpty {
            // One deadline for the whole request (Kafka's DelayedProduce): waiting for the partitions
            // one after another must not give each of them the full timeout_ms.
            // Parked (as Kafka's purgatory): followers do this work, not this broker's handlers.
            let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, request.timeoutMs)))
            let codes = await RequestTimer.parked {
                var codes: [ErrorCode] = []
                for item in pending {
                    let remaining = max(Duration.zero, deadline - ContinuousClock.now)
                    codes.append(await item.replica.awaitCommit(lastOffset: item.lastOffset, timeout: remaining))
                }
                return codes
            }
            for (item, code) in zip(pending, codes) where code != .none {
                responses[item.topic].partitionResponses[item.partition].errorCode = code
                responses[item.topic].partitionResponses[item.partition].baseOffset = -1
            }
        }
        // runnel.flush.on.ack: the syncs started at append time, so they ran during the waits above.
        for item in unsynced where responses[item.topic].partitionResponses[item.partition].errorCode == .none {
            // Parked: the flush pool syncs, this request only waits (as for the followers above).
            let failure: LogFlushError? = await RequestTimer.parked {
                do throws(LogFlushError) { try await item.flusher.waitUntilFlushed(through: item.lastOffset + 1) } catch { return error }
                return nil
            }
            if let failure {
                responses[item.topic].partitionResponses[item.partition].errorCode = failure.errorCode
                responses[item.topic].partitionResponses[item.partition].baseOffset = -1
                responses[item.topic].partitionResponses[item.partition].errorMessage = "\(failure)"
            }
        }
        return ProduceResponse(responses: responses)
    }

    /// Appends one partition's batch; returns the answer and, when appended, the partition and the
    /// batch's last offset (for acks=all).
    private func appendOne(topic: String, data: ProduceRequest.PartitionData, version: Int16, nowMs: Int64, acks: Int16,
                           context: RequestContext) async
        -> (ProduceResponse.PartitionResponse, (partition: Partition, lastOffset: Int64, durability: LogFlusher?)?) {
        if TopicName.isInternal(topic) {
            // Only the group coordinator writes its topic (Kafka's ReplicaManager, internalTopicsAllowed).
            return (.init(index: data.index, errorCode: .invalidTopicException, baseOffset: -1,
                          errorMessage: "Cannot append to internal topic \(topic)"), nil)
        }
        guard let partition = await controller.partition(TopicPartition(topic, data.index)) else {
            return (.init(index: data.index, errorCode: await controller.missingPartitionError(TopicPartition(topic, data.index)), baseOffset: -1), nil)
        }
        guard var records = data.records else {
            return (.init(index: data.index, errorCode: .invalidRecord, baseOffset: -1, errorMessage: "records are null"), nil)
        }
        if version < 3, LegacyFormat.isLegacyMessageSet(records) {
            do {
                records = try await legacyRecordsAsBatch(records, partition: partition)
            } catch {
                return (rejected(topic: topic, index: data.index, error: error, context: context), nil)
            }
        }
        if version < 7, records.readableBytes > RecordBatchHeader.Field.attributes + 2,
           let attributes = records.getInteger(at: records.readerIndex + RecordBatchHeader.Field.attributes, endianness: .big, as: Int16.self),
           attributes & 0x7 == CompressionCodec.zstd.rawValue {
            return (.init(index: data.index, errorCode: .unsupportedCompressionType, baseOffset: -1,
                          errorMessage: "zstd needs Produce v7 or later (KIP-110)"), nil)
        }
        do {
            let result = try await partition.append(records, nowMs: nowMs, requiredAcks: acks)
            return (.init(index: data.index, baseOffset: result.baseOffset, logAppendTimeMs: result.logAppendTimeMs,
                          logStartOffset: result.logStartOffset), (partition, result.lastOffset, result.durability))
        } catch {
            return (rejected(topic: topic, index: data.index, error: error, context: context), nil)
        }
    }

    private func rejected(topic: String, index: Int32, error: any Error, context: RequestContext) -> ProduceResponse.PartitionResponse {
        let code = errorCode(for: error)
        // Per client address and error: a client retrying a bad batch in a loop cannot flood the log.
        logLimiter.log(context.logger, .info, key: "produce rejected \(context.clientHost) \(code)", "produce rejected",
                       metadata: ["topic": "\(topic)", "partition": "\(index)", "error": "\(code)", "reason": "\(error)"])
        return .init(index: index, errorCode: code, baseOffset: -1, errorMessage: "\(error)")
    }
}

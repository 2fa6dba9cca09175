import Foundation
import KafkaProtocol
import NIOCore

extension RequestHandlers {
    /// Produce v0-9. acks must be -1, 0 or 1. With one replica, acks=all is satisfied once the batch
    /// is in the log (the high watermark moves with the log end offset). Versions 0-2 may carry a
    /// legacy message set (magic 0 or 1), which is up-converted into one magic-2 batch first
    /// (``legacyRecordsAsBatch(_:partition:)``); everything after that is the v3+ append path.
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
        for topic in request.topicData {
            var partitions: [ProduceResponse.PartitionResponse] = []
            for data in topic.partitionData {
                partitions.append(await appendOne(topic: topic.name, data: data, version: version, nowMs: nowMs, context: context))
            }
            responses.append(.init(name: topic.name, partitionResponses: partitions))
        }
        return ProduceResponse(responses: responses)
    }

    private func appendOne(topic: String, data: ProduceRequest.PartitionData, version: Int16, nowMs: Int64,
                           context: RequestContext) async -> ProduceResponse.PartitionResponse {
        if TopicName.isInternal(topic) {
            // Only the group coordinator writes its topic (Kafka's ReplicaManager, internalTopicsAllowed).
            return .init(index: data.index, errorCode: .invalidTopicException, baseOffset: -1,
                         errorMessage: "Cannot append to internal topic \(topic)")
        }
        guard let partition = await controller.partition(TopicPartition(topic, data.index)) else {
            return .init(index: data.index, errorCode: await controller.missingPartitionError(TopicPartition(topic, data.index)), baseOffset: -1)
        }
        guard var records = data.records else {
            return .init(index: data.index, errorCode: .invalidRecord, baseOffset: -1, errorMessage: "records are null")
        }
        if version < 3, LegacyFormat.isLegacyMessageSet(records) {
            do {
                records = try await legacyRecordsAsBatch(records, partition: partition)
            } catch {
                return rejected(topic: topic, index: data.index, error: error, context: context)
            }
        }
        if version < 7, records.readableBytes > RecordBatchHeader.Field.attributes + 2,
           let attributes = records.getInteger(at: records.readerIndex + RecordBatchHeader.Field.attributes, endianness: .big, as: Int16.self),
           attributes & 0x7 == CompressionCodec.zstd.rawValue {
            return .init(index: data.index, errorCode: .unsupportedCompressionType, baseOffset: -1,
                         errorMessage: "zstd needs Produce v7 or later (KIP-110)")
        }
        do {
            let result = try await partition.append(records, nowMs: nowMs)
            return .init(index: data.index, baseOffset: result.baseOffset, logAppendTimeMs: result.logAppendTimeMs,
                         logStartOffset: result.logStartOffset)
        } catch {
            return rejected(topic: topic, index: data.index, error: error, context: context)
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

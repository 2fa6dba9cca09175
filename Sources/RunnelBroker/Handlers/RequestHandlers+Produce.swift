import Foundation
import KafkaProtocol
import NIOCore

extension RequestHandlers {
    /// Produce v0-9. Versions 0-2 (legacy message sets) are answered with UNSUPPORTED_VERSION per
    /// partition. acks must be -1, 0 or 1. With one replica, acks=all is satisfied once the batch
    /// is in the log (the high watermark moves with the log end offset).
    func produce(_ request: ProduceRequest, version: Int16, context: RequestContext) async -> ProduceResponse {
        func allFailed(_ code: ErrorCode, _ message: String?) -> ProduceResponse {
            ProduceResponse(responses: request.topicData.map { topic in
                .init(name: topic.name, partitionResponses: topic.partitionData.map {
                    .init(index: $0.index, errorCode: code, baseOffset: -1, errorMessage: message)
                })
            })
        }
        guard version >= SupportedApis.firstServedProduceVersion else {
            return allFailed(.unsupportedVersion, "Produce v\(version) is not supported; use v3 or later (magic 2 record batches)")
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
            return .init(index: data.index, errorCode: .unknownTopicOrPartition, baseOffset: -1)
        }
        guard let records = data.records else {
            return .init(index: data.index, errorCode: .invalidRecord, baseOffset: -1, errorMessage: "records are null")
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
            let code = errorCode(for: error)
            context.logger.info("produce rejected", metadata: ["topic": "\(topic)", "partition": "\(data.index)",
                                                              "error": "\(code)", "reason": "\(error)"])
            return .init(index: data.index, errorCode: code, baseOffset: -1, errorMessage: "\(error)")
        }
    }
}

import NIOCore

/// AllocateProducerIds request (key 67), version 0 only (as in Kafka 3.9), flexible from 0 (KIP-730):
/// a broker asks the controller for a block of producer ids.
public struct AllocateProducerIdsRequest: KafkaRequest, Equatable {
    public typealias Response = AllocateProducerIdsResponse
    public static let apiKey = ApiKey.allocateProducerIds

    public var brokerID: Int32
    public var brokerEpoch: Int64
    public var taggedFields = TaggedFields()

    public init(brokerID: Int32, brokerEpoch: Int64 = -1) {
        self.brokerID = brokerID
        self.brokerEpoch = brokerEpoch
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        brokerID = try reader.readInt32("broker_id")
        brokerEpoch = try reader.readInt64("broker_epoch")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(brokerID)
        writer.writeInt64(brokerEpoch)
        writer.writeTaggedFields(taggedFields)
    }
}

/// AllocateProducerIds response (key 67), version 0 only, flexible from 0.
public struct AllocateProducerIdsResponse: KafkaMessage, Equatable {
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// First producer id of the block, inclusive.
    public var producerIDStart: Int64
    /// Number of ids in the block.
    public var producerIDLen: Int32
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, producerIDStart: Int64, producerIDLen: Int32) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.producerIDStart = producerIDStart
        self.producerIDLen = producerIDLen
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        producerIDStart = try reader.readInt64("producer_id_start")
        producerIDLen = try reader.readInt32("producer_id_len")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeInt64(producerIDStart)
        writer.writeInt32(producerIDLen)
        writer.writeTaggedFields(taggedFields)
    }
}

/// InitProducerId request (key 22), versions 0-4, flexible from 2 (KIP-98, KIP-360).
///
/// With a null `transactionalID` the broker hands out a new producer id with epoch 0: an idempotent
/// producer. v3+ carries the producer's current id and epoch, which matter only for transactional
/// producers (KIP-360 epoch bumps); -1 when it has none.
public struct InitProducerIDRequest: KafkaRequest, Equatable {
    public typealias Response = InitProducerIDResponse
    public static let apiKey = ApiKey.initProducerID

    /// Null for an idempotent (non-transactional) producer.
    public var transactionalID: String?
    /// Milliseconds a transaction may stay open (ignored for idempotent producers).
    public var transactionTimeoutMs: Int32
    /// v3+: the producer's current id, -1 when it has none.
    public var producerID: Int64 = -1
    /// v3+: the producer's current epoch, -1 when it has none.
    public var producerEpoch: Int16 = -1
    public var taggedFields = TaggedFields()

    public init(transactionalID: String?, transactionTimeoutMs: Int32, producerID: Int64 = -1, producerEpoch: Int16 = -1) {
        self.transactionalID = transactionalID
        self.transactionTimeoutMs = transactionTimeoutMs
        self.producerID = producerID
        self.producerEpoch = producerEpoch
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        transactionalID = try reader.readNullableString("transactional_id")
        transactionTimeoutMs = try reader.readInt32("transaction_timeout_ms")
        if version >= 3 {
            producerID = try reader.readInt64("producer_id")
            producerEpoch = try reader.readInt16("producer_epoch")
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeNullableString(transactionalID)
        writer.writeInt32(transactionTimeoutMs)
        if version >= 3 {
            writer.writeInt64(producerID)
            writer.writeInt16(producerEpoch)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// InitProducerId response (key 22), versions 0-4, flexible from 2.
public struct InitProducerIDResponse: KafkaMessage, Equatable {
    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// The producer id, -1 on error.
    public var producerID: Int64
    /// The producer epoch, -1 on error.
    public var producerEpoch: Int16
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, producerID: Int64 = -1, producerEpoch: Int16 = -1) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.producerID = producerID
        self.producerEpoch = producerEpoch
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        producerID = try reader.readInt64("producer_id")
        producerEpoch = try reader.readInt16("producer_epoch")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeInt64(producerID)
        writer.writeInt16(producerEpoch)
        writer.writeTaggedFields(taggedFields)
    }
}

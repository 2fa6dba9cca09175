import NIOCore

/// BrokerHeartbeat request (key 63), versions 0-1 as in Kafka 3.9, flexible from 0 (KIP-631).
/// Version 1 adds `OfflineLogDirs` as tagged field 0 (KIP-858).
public struct BrokerHeartbeatRequest: KafkaRequest, Equatable {
    public typealias Response = BrokerHeartbeatResponse
    public static let apiKey = ApiKey.brokerHeartbeat

    public var brokerID: Int32
    public var brokerEpoch: Int64
    /// The highest metadata offset the broker has applied.
    public var currentMetadataOffset: Int64
    public var wantFence: Bool
    public var wantShutDown: Bool
    /// v1+, tagged field 0; written only when non-empty.
    public var offlineLogDirs: [UUIDBytes]
    /// Tagged fields other than `offlineLogDirs`.
    public var taggedFields = TaggedFields()

    public init(brokerID: Int32, brokerEpoch: Int64 = -1, currentMetadataOffset: Int64, wantFence: Bool, wantShutDown: Bool,
                offlineLogDirs: [UUIDBytes] = []) {
        self.brokerID = brokerID
        self.brokerEpoch = brokerEpoch
        self.currentMetadataOffset = currentMetadataOffset
        self.wantFence = wantFence
        self.wantShutDown = wantShutDown
        self.offlineLogDirs = offlineLogDirs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        brokerID = try reader.readInt32("broker_id")
        brokerEpoch = try reader.readInt64("broker_epoch")
        currentMetadataOffset = try reader.readInt64("current_metadata_offset")
        wantFence = try reader.readBool("want_fence")
        wantShutDown = try reader.readBool("want_shut_down")
        taggedFields = try reader.readTaggedFields()
        offlineLogDirs = []
        if version >= 1, let raw = taggedFields.remove(0) {
            offlineLogDirs = try KafkaReader.decodeTaggedValue(raw, field: "offline_log_dirs") { r in
                try r.readArray("offline_log_dirs") { try $0.readUUID("log_dir") }
            }
        }
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(brokerID)
        writer.writeInt64(brokerEpoch)
        writer.writeInt64(currentMetadataOffset)
        writer.writeBool(wantFence)
        writer.writeBool(wantShutDown)
        var tags = taggedFields
        if version >= 1, !offlineLogDirs.isEmpty {
            tags = tags.setting(0) { $0.writeArray(offlineLogDirs) { $0.writeUUID($1) } }
        }
        writer.writeTaggedFields(tags)
    }
}

/// BrokerHeartbeat response (key 63), versions 0-1 as in Kafka 3.9, flexible from 0; the same fields
/// in both versions.
public struct BrokerHeartbeatResponse: KafkaMessage, Equatable {
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// Whether the broker has approximately caught up with the metadata log.
    public var isCaughtUp: Bool
    public var isFenced: Bool
    public var shouldShutDown: Bool
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, isCaughtUp: Bool = false, isFenced: Bool = true,
                shouldShutDown: Bool = false) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.isCaughtUp = isCaughtUp
        self.isFenced = isFenced
        self.shouldShutDown = shouldShutDown
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        isCaughtUp = try reader.readBool("is_caught_up")
        isFenced = try reader.readBool("is_fenced")
        shouldShutDown = try reader.readBool("should_shut_down")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeBool(isCaughtUp)
        writer.writeBool(isFenced)
        writer.writeBool(shouldShutDown)
        writer.writeTaggedFields(taggedFields)
    }
}

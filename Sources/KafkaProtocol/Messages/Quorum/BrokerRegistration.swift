import NIOCore

/// BrokerRegistration request (key 62), versions 0-4 as in Kafka 3.9, flexible from 0 (KIP-631).
/// v1 adds `IsMigratingZkBroker` (KIP-866), v2 `LogDirs` (KIP-858), v3 `PreviousBrokerEpoch`
/// (KIP-966); v4 has v3's fields and only changes meaning: features with a minimum supported
/// version of 0 are no longer omitted.
public struct BrokerRegistrationRequest: KafkaRequest, Equatable {
    public typealias Response = BrokerRegistrationResponse
    public static let apiKey = ApiKey.brokerRegistration

    /// `Listener`.
    public struct Listener: Equatable, Sendable {
        public var name: String
        public var host: String
        public var port: UInt16
        /// Kafka `SecurityProtocol` id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL.
        public var securityProtocol: Int16
        public var taggedFields = TaggedFields()

        public init(name: String, host: String, port: UInt16, securityProtocol: Int16 = 0) {
            self.name = name
            self.host = host
            self.port = port
            self.securityProtocol = securityProtocol
        }
    }

    /// `Feature`: a supported feature level range.
    public struct Feature: Equatable, Sendable {
        public var name: String
        public var minSupportedVersion: Int16
        public var maxSupportedVersion: Int16
        public var taggedFields = TaggedFields()

        public init(name: String, minSupportedVersion: Int16, maxSupportedVersion: Int16) {
            self.name = name
            self.minSupportedVersion = minSupportedVersion
            self.maxSupportedVersion = maxSupportedVersion
        }
    }

    public var brokerID: Int32
    public var clusterID: String
    /// Random per broker process start.
    public var incarnationID: UUIDBytes
    public var listeners: [Listener]
    public var features: [Feature]
    public var rack: String?
    /// v1+.
    public var isMigratingZkBroker: Bool
    /// v2+: the broker's online log directories.
    public var logDirs: [UUIDBytes]
    /// v3+: the epoch before a clean shutdown, -1 if none.
    public var previousBrokerEpoch: Int64
    public var taggedFields = TaggedFields()

    public init(brokerID: Int32, clusterID: String, incarnationID: UUIDBytes, listeners: [Listener], features: [Feature],
                rack: String? = nil, isMigratingZkBroker: Bool = false, logDirs: [UUIDBytes] = [], previousBrokerEpoch: Int64 = -1) {
        self.brokerID = brokerID
        self.clusterID = clusterID
        self.incarnationID = incarnationID
        self.listeners = listeners
        self.features = features
        self.rack = rack
        self.isMigratingZkBroker = isMigratingZkBroker
        self.logDirs = logDirs
        self.previousBrokerEpoch = previousBrokerEpoch
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        brokerID = try reader.readInt32("broker_id")
        clusterID = try reader.readString("cluster_id")
        incarnationID = try reader.readUUID("incarnation_id")
        listeners = try reader.readArray("listeners") { r in
            var l = Listener(name: try r.readString("name"), host: try r.readString("host"), port: try r.readUInt16("port"),
                             securityProtocol: try r.readInt16("security_protocol"))
            l.taggedFields = try r.readTaggedFields()
            return l
        }
        features = try reader.readArray("features") { r in
            var f = Feature(name: try r.readString("name"), minSupportedVersion: try r.readInt16("min_supported_version"),
                            maxSupportedVersion: try r.readInt16("max_supported_version"))
            f.taggedFields = try r.readTaggedFields()
            return f
        }
        rack = try reader.readNullableString("rack")
        isMigratingZkBroker = version >= 1 ? try reader.readBool("is_migrating_zk_broker") : false
        logDirs = version >= 2 ? try reader.readArray("log_dirs") { try $0.readUUID("log_dir") } : []
        previousBrokerEpoch = version >= 3 ? try reader.readInt64("previous_broker_epoch") : -1
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(brokerID)
        writer.writeString(clusterID)
        writer.writeUUID(incarnationID)
        writer.writeArray(listeners) { w, l in
            w.writeString(l.name); w.writeString(l.host); w.writeUInt16(l.port); w.writeInt16(l.securityProtocol)
            w.writeTaggedFields(l.taggedFields)
        }
        writer.writeArray(features) { w, f in
            w.writeString(f.name); w.writeInt16(f.minSupportedVersion); w.writeInt16(f.maxSupportedVersion)
            w.writeTaggedFields(f.taggedFields)
        }
        writer.writeNullableString(rack)
        if version >= 1 { writer.writeBool(isMigratingZkBroker) }
        if version >= 2 { writer.writeArray(logDirs) { $0.writeUUID($1) } }
        if version >= 3 { writer.writeInt64(previousBrokerEpoch) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// BrokerRegistration response (key 62), versions 0-4 as in Kafka 3.9, flexible from 0; the same
/// fields in every version.
public struct BrokerRegistrationResponse: KafkaMessage, Equatable {
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    /// The broker's assigned epoch, -1 if none was assigned.
    public var brokerEpoch: Int64
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, brokerEpoch: Int64 = -1) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.brokerEpoch = brokerEpoch
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        brokerEpoch = try reader.readInt64("broker_epoch")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeInt64(brokerEpoch)
        writer.writeTaggedFields(taggedFields)
    }
}

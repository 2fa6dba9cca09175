import KafkaProtocol
import NIOCore

// The broker-registration and partition-change records of Kafka's cluster metadata log
// (`metadata/src/main/resources/common/metadata/*.json` as of Kafka 3.9), in ``MetadataRecord``'s
// framing. Each payload keeps the record version it was read with (or is to be written with), since
// fields and tagged fields differ by version. Versions as Kafka 3.9 writes them at its latest
// production metadata version (3.9-IV0: directory assignment on, ELR off; server-common
// MetadataVersion and controller/ReplicationControlManager): RegisterBrokerRecord v3,
// PartitionChangeRecord v1, BrokerRegistrationChangeRecord v0/v1/v2 (see its doc),
// UnregisterBrokerRecord v0; Fence/UnfenceBrokerRecord v0 only below metadata version 3.3-IV2.

extension MetadataRecord {
    /// A listener of a registered broker (`BrokerEndpoint`).
    public struct BrokerEndpoint: Equatable, Sendable {
        public var name: String
        public var host: String
        public var port: UInt16
        /// Kafka `SecurityProtocol` id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL.
        public var securityProtocol: Int16

        public init(name: String, host: String, port: UInt16, securityProtocol: Int16 = 0) {
            self.name = name
            self.host = host
            self.port = port
            self.securityProtocol = securityProtocol
        }
    }

    /// A supported feature level range of a registered broker (`BrokerFeature`).
    public struct BrokerFeature: Equatable, Sendable {
        public var name: String
        public var minSupportedVersion: Int16
        public var maxSupportedVersion: Int16

        public init(name: String, minSupportedVersion: Int16, maxSupportedVersion: Int16) {
            self.name = name
            self.minSupportedVersion = minSupportedVersion
            self.maxSupportedVersion = maxSupportedVersion
        }
    }

    /// `RegisterBrokerRecord` (api key 0), versions 0-3: v1 adds `InControlledShutdown`, v2
    /// `IsMigratingZkBroker`, v3 the tagged `LogDirs` (tag 0). Kafka 3.9 writes v3 (v2 below
    /// metadata version 3.7-IV2).
    public struct RegisterBrokerRecordData: Equatable, Sendable {
        public var version: Int16 = 3
        public var brokerID: Int32
        /// v2+.
        public var isMigratingZkBroker: Bool = false
        public var incarnationID: UUIDBytes
        public var brokerEpoch: Int64
        public var endpoints: [BrokerEndpoint]
        public var features: [BrokerFeature]
        public var rack: String?
        /// Schema default true: brokers register fenced.
        public var fenced: Bool = true
        /// v1+.
        public var inControlledShutdown: Bool = false
        /// v3+, tagged field 0; written only when non-empty.
        public var logDirs: [UUIDBytes] = []

        public init(version: Int16 = 3, brokerID: Int32, incarnationID: UUIDBytes, brokerEpoch: Int64, endpoints: [BrokerEndpoint],
                    features: [BrokerFeature] = [], rack: String? = nil, fenced: Bool = true, inControlledShutdown: Bool = false,
                    isMigratingZkBroker: Bool = false, logDirs: [UUIDBytes] = []) {
            self.version = version
            self.brokerID = brokerID
            self.incarnationID = incarnationID
            self.brokerEpoch = brokerEpoch
            self.endpoints = endpoints
            self.features = features
            self.rack = rack
            self.fenced = fenced
            self.inControlledShutdown = inControlledShutdown
            self.isMigratingZkBroker = isMigratingZkBroker
            self.logDirs = logDirs
        }
    }

    /// `PartitionChangeRecord` (api key 5), versions 0-2: every field after the topic id is tagged
    /// and means "no change" at its default. v1 adds `Directories` (tag 8, KIP-858), v2 the
    /// eligible leader replicas (tags 6 and 7, KIP-966). Kafka 3.9 writes v1 (v0 below metadata
    /// version 3.7-IV2; v2 only with ELR enabled).
    public struct PartitionChangeRecordData: Equatable, Sendable {
        /// The "leader did not change" value of `leader`.
        public static let noLeaderChange: Int32 = -2
        /// The "there is now no leader" value of `leader`.
        public static let noLeader: Int32 = -1

        public var version: Int16 = 1
        public var partitionID: Int32
        public var topicID: UUIDBytes
        /// Tag 0; nil: unchanged.
        public var isr: [Int32]?
        /// Tag 1; -2: unchanged, -1: no leader.
        public var leader: Int32 = noLeaderChange
        /// Tag 2; nil: unchanged.
        public var replicas: [Int32]?
        /// Tag 3; nil: unchanged.
        public var removingReplicas: [Int32]?
        /// Tag 4; nil: unchanged.
        public var addingReplicas: [Int32]?
        /// Tag 5; -1: unchanged, 0 recovered, 1 recovering (after an unclean election).
        public var leaderRecoveryState: Int8 = -1
        /// Tag 6, v2+; nil: unchanged.
        public var eligibleLeaderReplicas: [Int32]?
        /// Tag 7, v2+; nil: unchanged.
        public var lastKnownELR: [Int32]?
        /// Tag 8, v1+: the log directory of each replica; nil: unchanged.
        public var directories: [UUIDBytes]?

        public init(version: Int16 = 1, partitionID: Int32, topicID: UUIDBytes, isr: [Int32]? = nil, leader: Int32 = noLeaderChange,
                    replicas: [Int32]? = nil, removingReplicas: [Int32]? = nil, addingReplicas: [Int32]? = nil,
                    leaderRecoveryState: Int8 = -1, eligibleLeaderReplicas: [Int32]? = nil, lastKnownELR: [Int32]? = nil,
                    directories: [UUIDBytes]? = nil) {
            self.version = version
            self.partitionID = partitionID
            self.topicID = topicID
            self.isr = isr
            self.leader = leader
            self.replicas = replicas
            self.removingReplicas = removingReplicas
            self.addingReplicas = addingReplicas
            self.leaderRecoveryState = leaderRecoveryState
            self.eligibleLeaderReplicas = eligibleLeaderReplicas
            self.lastKnownELR = lastKnownELR
            self.directories = directories
        }
    }

    /// `BrokerRegistrationChangeRecord` (api key 17), versions 0-2: `Fenced` is tag 0 (-1 unfenced,
    /// 0 no change, 1 fenced), v1 adds `InControlledShutdown` (tag 1: 0 no change, 1 in controlled
    /// shutdown), v2 `LogDirs` (tag 2; empty: no change). Kafka 3.9's controller writes the lowest
    /// version that carries the change: v0 to fence or unfence (in place of Fence/UnfenceBrokerRecord
    /// from metadata version 3.3-IV2), v1 for controlled shutdown, v2 for a log-directory change.
    public struct BrokerRegistrationChangeData: Equatable, Sendable {
        public var version: Int16 = 2
        public var brokerID: Int32
        public var brokerEpoch: Int64
        public var fenced: Int8 = 0
        /// v1+.
        public var inControlledShutdown: Int8 = 0
        /// v2+.
        public var logDirs: [UUIDBytes] = []

        public init(version: Int16 = 2, brokerID: Int32, brokerEpoch: Int64, fenced: Int8 = 0, inControlledShutdown: Int8 = 0,
                    logDirs: [UUIDBytes] = []) {
            self.version = version
            self.brokerID = brokerID
            self.brokerEpoch = brokerEpoch
            self.fenced = fenced
            self.inControlledShutdown = inControlledShutdown
            self.logDirs = logDirs
        }
    }
}

// MARK: Codecs (the body after the frame header; the caller writes the final tag buffer only for
// the records without tagged fields)

extension MetadataRecord.RegisterBrokerRecordData {
    func encode(to w: inout KafkaWriter) {
        w.writeInt32(brokerID)
        if version >= 2 { w.writeBool(isMigratingZkBroker) }
        w.writeUUID(incarnationID)
        w.writeInt64(brokerEpoch)
        w.writeArray(endpoints) { w, e in
            w.writeString(e.name); w.writeString(e.host); w.writeInt16(Int16(bitPattern: e.port)); w.writeInt16(e.securityProtocol)
            w.writeTaggedFields()
        }
        w.writeArray(features) { w, f in
            w.writeString(f.name); w.writeInt16(f.minSupportedVersion); w.writeInt16(f.maxSupportedVersion)
            w.writeTaggedFields()
        }
        w.writeNullableString(rack)
        w.writeBool(fenced)
        if version >= 1 { w.writeBool(inControlledShutdown) }
        var tags = TaggedFields()
        if version >= 3, !logDirs.isEmpty { tags = tags.setting(0) { $0.writeArray(logDirs) { $0.writeUUID($1) } } }
        w.writeTaggedFields(tags)
    }

    static func decode(from r: inout KafkaReader, version: Int16) throws -> Self {
        let brokerID = try r.readInt32("broker id")
        let migrating = version >= 2 ? try r.readBool("is migrating zk broker") : false
        let incarnation = try r.readUUID("incarnation id")
        let epoch = try r.readInt64("broker epoch")
        let endpoints = try r.readArray("endpoints") { r in
            let e = MetadataRecord.BrokerEndpoint(name: try r.readString("name"), host: try r.readString("host"),
                                                  port: UInt16(bitPattern: try r.readInt16("port")),
                                                  securityProtocol: try r.readInt16("security protocol"))
            _ = try r.readTaggedFields()
            return e
        }
        let features = try r.readArray("features") { r in
            let f = MetadataRecord.BrokerFeature(name: try r.readString("name"), minSupportedVersion: try r.readInt16("min"),
                                                 maxSupportedVersion: try r.readInt16("max"))
            _ = try r.readTaggedFields()
            return f
        }
        let rack = try r.readNullableString("rack")
        let fenced = try r.readBool("fenced")
        let shutdown = version >= 1 ? try r.readBool("in controlled shutdown") : false
        var tags = try r.readTaggedFields()
        var logDirs: [UUIDBytes] = []
        if version >= 3, let raw = tags.remove(0) {
            logDirs = try KafkaReader.decodeTaggedValue(raw, field: "log dirs") { try $0.readArray { try $0.readUUID() } }
        }
        return Self(version: version, brokerID: brokerID, incarnationID: incarnation, brokerEpoch: epoch, endpoints: endpoints,
                    features: features, rack: rack, fenced: fenced, inControlledShutdown: shutdown,
                    isMigratingZkBroker: migrating, logDirs: logDirs)
    }
}

extension MetadataRecord.PartitionChangeRecordData {
    func encode(to w: inout KafkaWriter) {
        w.writeInt32(partitionID)
        w.writeUUID(topicID)
        var tags = TaggedFields()
        func list(_ tag: UInt32, _ value: [Int32]?) {
            guard let value else { return }
            tags = tags.setting(tag) { $0.writeArray(value) { $0.writeInt32($1) } }
        }
        list(0, isr)
        if leader != Self.noLeaderChange { tags = tags.setting(1) { $0.writeInt32(leader) } }
        list(2, replicas)
        list(3, removingReplicas)
        list(4, addingReplicas)
        if leaderRecoveryState != -1 { tags = tags.setting(5) { $0.writeInt8(leaderRecoveryState) } }
        if version >= 2 {
            list(6, eligibleLeaderReplicas)
            list(7, lastKnownELR)
        }
        if version >= 1, let directories {
            tags = tags.setting(8) { $0.writeArray(directories) { $0.writeUUID($1) } }
        }
        w.writeTaggedFields(tags)
    }

    static func decode(from r: inout KafkaReader, version: Int16) throws -> Self {
        var record = Self(version: version, partitionID: try r.readInt32("partition id"), topicID: try r.readUUID("topic id"))
        var tags = try r.readTaggedFields()
        func list(_ tag: UInt32, _ field: String) throws -> [Int32]? {
            guard let raw = tags.remove(tag) else { return nil }
            return try KafkaReader.decodeTaggedValue(raw, field: field) { try $0.readNullableArray(field) { try $0.readInt32() } }
        }
        record.isr = try list(0, "isr")
        if let raw = tags.remove(1) { record.leader = try KafkaReader.decodeTaggedValue(raw, field: "leader") { try $0.readInt32() } }
        record.replicas = try list(2, "replicas")
        record.removingReplicas = try list(3, "removing replicas")
        record.addingReplicas = try list(4, "adding replicas")
        if let raw = tags.remove(5) {
            record.leaderRecoveryState = try KafkaReader.decodeTaggedValue(raw, field: "leader recovery state") { try $0.readInt8() }
        }
        if version >= 2 {
            record.eligibleLeaderReplicas = try list(6, "eligible leader replicas")
            record.lastKnownELR = try list(7, "last known elr")
        }
        if version >= 1, let raw = tags.remove(8) {
            record.directories = try KafkaReader.decodeTaggedValue(raw, field: "directories") {
                try $0.readNullableArray("directories") { try $0.readUUID() }
            }
        }
        return record
    }
}

extension MetadataRecord.BrokerRegistrationChangeData {
    func encode(to w: inout KafkaWriter) {
        w.writeInt32(brokerID)
        w.writeInt64(brokerEpoch)
        var tags = TaggedFields()
        if fenced != 0 { tags = tags.setting(0) { $0.writeInt8(fenced) } }
        if version >= 1, inControlledShutdown != 0 { tags = tags.setting(1) { $0.writeInt8(inControlledShutdown) } }
        if version >= 2, !logDirs.isEmpty { tags = tags.setting(2) { $0.writeArray(logDirs) { $0.writeUUID($1) } } }
        w.writeTaggedFields(tags)
    }

    static func decode(from r: inout KafkaReader, version: Int16) throws -> Self {
        var record = Self(version: version, brokerID: try r.readInt32("broker id"), brokerEpoch: try r.readInt64("broker epoch"))
        var tags = try r.readTaggedFields()
        if let raw = tags.remove(0) { record.fenced = try KafkaReader.decodeTaggedValue(raw, field: "fenced") { try $0.readInt8() } }
        if version >= 1, let raw = tags.remove(1) {
            record.inControlledShutdown = try KafkaReader.decodeTaggedValue(raw, field: "in controlled shutdown") { try $0.readInt8() }
        }
        if version >= 2, let raw = tags.remove(2) {
            record.logDirs = try KafkaReader.decodeTaggedValue(raw, field: "log dirs") { try $0.readArray { try $0.readUUID() } }
        }
        return record
    }
}

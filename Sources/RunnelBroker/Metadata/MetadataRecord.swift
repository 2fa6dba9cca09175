import KafkaProtocol
import NIOCore

/// A cluster metadata record in Kafka's KRaft encoding (`metadata/src/main/resources/common/metadata/*.json`,
/// framed by `AbstractApiMessageSerde`): unsigned varint frame version (1), unsigned varint record
/// api key, unsigned varint record version, then the flexible-encoded body.
///
/// Runnel writes the record types it needs so far; the Raft quorum issue replicates the same log.
public enum MetadataRecord: Equatable, Sendable {
    /// `TopicRecord` (api key 2, v0): a topic name and its ID.
    case topic(name: String, topicID: UUIDBytes)
    /// `PartitionRecord` (api key 3, v0).
    case partition(PartitionRecordData)
    /// `ConfigRecord` (api key 4, v0): resource type 2 = topic, 4 = broker; a null value deletes.
    case config(resourceType: Int8, resourceName: String, name: String, value: String?)
    /// `RemoveTopicRecord` (api key 9, v0).
    case removeTopic(topicID: UUIDBytes)
    /// `ProducerIdsRecord` (api key 15, v0): producer ids below `nextProducerID` have been handed
    /// out (to `brokerID`), so ids stay unique across restarts.
    case producerIDs(brokerID: Int32, brokerEpoch: Int64, nextProducerID: Int64)
    /// `RegisterBrokerRecord` (api key 0, v0-3; see ``RegisterBrokerRecordData``).
    case registerBroker(RegisterBrokerRecordData)
    /// `UnregisterBrokerRecord` (api key 1, v0).
    case unregisterBroker(brokerID: Int32, brokerEpoch: Int64)
    /// `PartitionChangeRecord` (api key 5, v0-2; see ``PartitionChangeRecordData``).
    case partitionChange(PartitionChangeRecordData)
    /// `FenceBrokerRecord` (api key 7, v0); Kafka 3.9 writes it only below metadata version 3.3-IV2
    /// (then `BrokerRegistrationChangeRecord` with `fenced` 1), but replays it at any version.
    case fenceBroker(brokerID: Int32, brokerEpoch: Int64)
    /// `UnfenceBrokerRecord` (api key 8, v0); likewise replaced by `fenced` -1 from 3.3-IV2.
    case unfenceBroker(brokerID: Int32, brokerEpoch: Int64)
    /// `BrokerRegistrationChangeRecord` (api key 17, v0-2; see ``BrokerRegistrationChangeData``).
    case brokerRegistrationChange(BrokerRegistrationChangeData)
    /// `ClientQuotaRecord` (api key 14, v0): sets (or with `remove`, removes) one quota key of a
    /// client quota entity (KIP-546); the value is ignored when removing.
    case clientQuota(entity: [ClientQuotaEntityComponent], key: String, value: Double, remove: Bool)
    /// `AccessControlEntryRecord` (api key 18, v0): one ACL (KIP-801) and the id it is removed by.
    case accessControlEntry(id: UUIDBytes, acl: AclData)
    /// `RemoveAccessControlEntryRecord` (api key 19, v0): removes the ACL with this id.
    case removeAccessControlEntry(id: UUIDBytes)
    /// `UserScramCredentialRecord` (api key 11, v0; KIP-554): a user's SCRAM credential for one
    /// mechanism, as the keys a server keeps (never the password or the salted password).
    case userScramCredential(UserScramCredentialData)
    /// `RemoveUserScramCredentialRecord` (api key 22, v0): removes a user's credential for one mechanism.
    case removeUserScramCredential(name: String, mechanism: ScramMechanism)

    /// Resource type of topic configs in `ConfigRecord` (Kafka `ConfigResource.Type.TOPIC`).
    public static let topicResourceType: Int8 = 2
    /// Resource type of dynamic broker configs (`ConfigResource.Type.BROKER`); resource name "" is
    /// the cluster-wide default.
    public static let brokerResourceType: Int8 = 4

    public struct PartitionRecordData: Equatable, Sendable {
        public var partitionID: Int32
        public var topicID: UUIDBytes
        public var replicas: [Int32]
        public var isr: [Int32]
        public var removingReplicas: [Int32] = []
        public var addingReplicas: [Int32] = []
        public var leader: Int32
        public var leaderEpoch: Int32
        public var partitionEpoch: Int32

        public init(partitionID: Int32, topicID: UUIDBytes, replicas: [Int32], isr: [Int32],
                    leader: Int32, leaderEpoch: Int32, partitionEpoch: Int32) {
            self.partitionID = partitionID
            self.topicID = topicID
            self.replicas = replicas
            self.isr = isr
            self.leader = leader
            self.leaderEpoch = leaderEpoch
            self.partitionEpoch = partitionEpoch
        }
    }

    /// The fields of a `UserScramCredentialRecord`.
    public struct UserScramCredentialData: Equatable, Sendable {
        public var name: String
        public var mechanism: ScramMechanism
        public var salt: [UInt8]
        /// `H(ClientKey)` (RFC 5802).
        public var storedKey: [UInt8]
        /// `HMAC(SaltedPassword, "Server Key")`.
        public var serverKey: [UInt8]
        public var iterations: Int32

        public init(name: String, mechanism: ScramMechanism, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int32) {
            self.name = name
            self.mechanism = mechanism
            self.salt = salt
            self.storedKey = storedKey
            self.serverKey = serverKey
            self.iterations = iterations
        }
    }

    /// The framed record value bytes.
    public func encoded() -> ByteBuffer {
        var w = KafkaWriter(flexible: true)
        w.writeUnsignedVarint(1)
        switch self {
        case .topic(let name, let id):
            w.writeUnsignedVarint(2); w.writeUnsignedVarint(0)
            w.writeString(name); w.writeUUID(id)
        case .partition(let p):
            w.writeUnsignedVarint(3); w.writeUnsignedVarint(0)
            w.writeInt32(p.partitionID); w.writeUUID(p.topicID)
            for list in [p.replicas, p.isr, p.removingReplicas, p.addingReplicas] {
                w.writeArray(list) { $0.writeInt32($1) }
            }
            w.writeInt32(p.leader); w.writeInt32(p.leaderEpoch); w.writeInt32(p.partitionEpoch)
        case .config(let type, let resource, let name, let value):
            w.writeUnsignedVarint(4); w.writeUnsignedVarint(0)
            w.writeInt8(type); w.writeString(resource); w.writeString(name); w.writeNullableString(value)
        case .removeTopic(let id):
            w.writeUnsignedVarint(9); w.writeUnsignedVarint(0)
            w.writeUUID(id)
        case .producerIDs(let broker, let epoch, let next):
            w.writeUnsignedVarint(15); w.writeUnsignedVarint(0)
            w.writeInt32(broker); w.writeInt64(epoch); w.writeInt64(next)
        case .registerBroker(let b):
            w.writeUnsignedVarint(0); w.writeUnsignedVarint(UInt32(b.version))
            b.encode(to: &w)
            return w.buffer
        case .unregisterBroker(let id, let epoch):
            w.writeUnsignedVarint(1); w.writeUnsignedVarint(0)
            w.writeInt32(id); w.writeInt64(epoch)
        case .partitionChange(let c):
            w.writeUnsignedVarint(5); w.writeUnsignedVarint(UInt32(c.version))
            c.encode(to: &w)
            return w.buffer
        case .fenceBroker(let id, let epoch):
            w.writeUnsignedVarint(7); w.writeUnsignedVarint(0)
            w.writeInt32(id); w.writeInt64(epoch)
        case .unfenceBroker(let id, let epoch):
            w.writeUnsignedVarint(8); w.writeUnsignedVarint(0)
            w.writeInt32(id); w.writeInt64(epoch)
        case .brokerRegistrationChange(let c):
            w.writeUnsignedVarint(17); w.writeUnsignedVarint(UInt32(c.version))
            c.encode(to: &w)
            return w.buffer
        case .clientQuota(let entity, let key, let value, let remove):
            w.writeUnsignedVarint(14); w.writeUnsignedVarint(0)
            w.writeArray(entity) { w, c in
                w.writeString(c.entityType); w.writeNullableString(c.entityName); w.writeTaggedFields()
            }
            w.writeString(key); w.writeFloat64(value); w.writeBool(remove)
        case .accessControlEntry(let id, let acl):
            w.writeUnsignedVarint(18); w.writeUnsignedVarint(0)
            w.writeUUID(id); w.writeInt8(acl.resourceType); w.writeString(acl.resourceName); w.writeInt8(acl.patternType)
            w.writeString(acl.principal); w.writeString(acl.host); w.writeInt8(acl.operation); w.writeInt8(acl.permissionType)
        case .removeAccessControlEntry(let id):
            w.writeUnsignedVarint(19); w.writeUnsignedVarint(0)
            w.writeUUID(id)
        case .userScramCredential(let c):
            w.writeUnsignedVarint(11); w.writeUnsignedVarint(0)
            w.writeString(c.name); w.writeInt8(c.mechanism.rawValue)
            w.writeBytes(ByteBuffer(bytes: c.salt)); w.writeBytes(ByteBuffer(bytes: c.storedKey)); w.writeBytes(ByteBuffer(bytes: c.serverKey))
            w.writeInt32(c.iterations)
        case .removeUserScramCredential(let name, let mechanism):
            w.writeUnsignedVarint(22); w.writeUnsignedVarint(0)
            w.writeString(name); w.writeInt8(mechanism.rawValue)
        }
        w.writeTaggedFields()
        return w.buffer
    }

    /// Decodes a framed record; returns `nil` for record types Runnel does not use yet (they are skipped on replay).
    /// - Throws: ``ProtocolError`` for malformed bytes or an unknown frame version.
    public static func decode(_ bytes: ByteBuffer) throws -> MetadataRecord? {
        var r = KafkaReader(bytes, flexible: true)
        let frame = try r.readUnsignedVarint("frame version")
        guard frame == 1 else { throw ProtocolError.invalid("unsupported metadata frame version \(frame)") }
        let apiKey = try r.readUnsignedVarint("record api key")
        let version = try r.readUnsignedVarint("record version")
        let record: MetadataRecord?
        switch apiKey {
        case 2:
            record = .topic(name: try r.readString("name"), topicID: try r.readUUID("topic id"))
        case 3:
            let partitionID = try r.readInt32()
            let topicID = try r.readUUID()
            let replicas = try r.readArray { try $0.readInt32() }
            let isr = try r.readArray { try $0.readInt32() }
            _ = try r.readArray { try $0.readInt32() }
            _ = try r.readArray { try $0.readInt32() }
            let leader = try r.readInt32()
            let leaderEpoch = try r.readInt32()
            let partitionEpoch = try r.readInt32()
            if version >= 1 { _ = try r.readArray { try $0.readUUID() } }
            record = .partition(PartitionRecordData(partitionID: partitionID, topicID: topicID, replicas: replicas, isr: isr,
                                                    leader: leader, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch))
        case 4:
            record = .config(resourceType: try r.readInt8(), resourceName: try r.readString(),
                             name: try r.readString(), value: try r.readNullableString())
        case 9:
            record = .removeTopic(topicID: try r.readUUID())
        case 15:
            record = .producerIDs(brokerID: try r.readInt32("broker id"), brokerEpoch: try r.readInt64("broker epoch"),
                                  nextProducerID: try r.readInt64("next producer id"))
        case 0:
            guard version <= 3 else { throw ProtocolError.invalid("unsupported RegisterBrokerRecord version \(version)") }
            return .registerBroker(try RegisterBrokerRecordData.decode(from: &r, version: Int16(version)))
        case 1:
            record = .unregisterBroker(brokerID: try r.readInt32("broker id"), brokerEpoch: try r.readInt64("broker epoch"))
        case 5:
            guard version <= 2 else { throw ProtocolError.invalid("unsupported PartitionChangeRecord version \(version)") }
            return .partitionChange(try PartitionChangeRecordData.decode(from: &r, version: Int16(version)))
        case 7:
            record = .fenceBroker(brokerID: try r.readInt32("id"), brokerEpoch: try r.readInt64("epoch"))
        case 8:
            record = .unfenceBroker(brokerID: try r.readInt32("id"), brokerEpoch: try r.readInt64("epoch"))
        case 14:
            let entity = try r.readArray("entity") { r in
                let c = ClientQuotaEntityComponent(entityType: try r.readString("entity type"), entityName: try r.readNullableString("entity name"))
                _ = try r.readTaggedFields()
                return c
            }
            record = .clientQuota(entity: entity, key: try r.readString("key"), value: try r.readFloat64("value"), remove: try r.readBool("remove"))
        case 18:
            let id = try r.readUUID("id")
            record = .accessControlEntry(id: id, acl: AclData(
                resourceType: try r.readInt8("resource type"), resourceName: try r.readString("resource name"),
                patternType: try r.readInt8("pattern type"), principal: try r.readString("principal"), host: try r.readString("host"),
                operation: try r.readInt8("operation"), permissionType: try r.readInt8("permission type")))
        case 19:
            record = .removeAccessControlEntry(id: try r.readUUID("id"))
        case 11:
            record = .userScramCredential(UserScramCredentialData(
                name: try r.readString("name"), mechanism: ScramMechanism(rawValue: try r.readInt8("mechanism")),
                salt: Array(try r.readBytes("salt").readableBytesView), storedKey: Array(try r.readBytes("stored key").readableBytesView),
                serverKey: Array(try r.readBytes("server key").readableBytesView), iterations: try r.readInt32("iterations")))
        case 22:
            record = .removeUserScramCredential(name: try r.readString("name"), mechanism: ScramMechanism(rawValue: try r.readInt8("mechanism")))
        case 17:
            guard version <= 2 else { throw ProtocolError.invalid("unsupported BrokerRegistrationChangeRecord version \(version)") }
            return .brokerRegistrationChange(try BrokerRegistrationChangeData.decode(from: &r, version: Int16(version)))
        default:
            return nil
        }
        _ = try r.readTaggedFields()
        return record
    }
}

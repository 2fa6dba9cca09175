import KafkaProtocol
import NIOCore

/// The records Runnel keeps in `__consumer_offsets`, in Kafka's own formats (the
/// `OffsetCommitKey`/`OffsetCommitValue` and `GroupMetadataKey`/`GroupMetadataValue` schemas of
/// Kafka's group-coordinator module), so Kafka's tools can read the topic.
///
/// The key starts with an int16 version that says what the record is: 0 or 1 = a committed offset
/// keyed by (group, topic, partition); 2 = a group's metadata keyed by group. A null value is a
/// tombstone that compaction eventually removes. Runnel writes value version 3 of both (the last
/// non-flexible one) and reads versions 0-4.
public enum OffsetsTopicRecord: Sendable, Equatable {
    /// A committed offset; `nil` value = deleted.
    case offsetCommit(group: String, topic: String, partition: Int32, value: CommittedOffset?)
    /// A group's membership and generation; `nil` value = deleted group.
    case groupMetadata(group: String, value: GroupMetadataValue?)

    /// The group the record belongs to.
    public var group: String {
        switch self {
        case .offsetCommit(let group, _, _, _), .groupMetadata(let group, _): return group
        }
    }

    /// Encodes the record's key and value (nil for a tombstone).
    public func encode() -> (key: ByteBuffer, value: ByteBuffer?) {
        var key = KafkaWriter(flexible: false)
        switch self {
        case .offsetCommit(let group, let topic, let partition, let value):
            key.writeInt16(1)
            key.writeString(group)
            key.writeString(topic)
            key.writeInt32(partition)
            return (key.buffer, value.map(Self.encode))
        case .groupMetadata(let group, let value):
            key.writeInt16(2)
            key.writeString(group)
            return (key.buffer, value.map(Self.encode))
        }
    }

    /// Decodes a record read back from the topic.
    /// - Returns: nil for key versions this broker does not know (Kafka 3.7+ writes consumer-group
    ///   records with versions 3 and up, which classic groups never produce); they are skipped.
    /// - Throws: ``ProtocolError`` when a known record is malformed.
    public static func decode(key keyBuffer: ByteBuffer, value valueBuffer: ByteBuffer?) throws -> OffsetsTopicRecord? {
        var key = KafkaReader(keyBuffer, flexible: false)
        let version = try key.readInt16("key_version")
        switch version {
        case 0, 1:
            let group = try key.readString("group")
            let topic = try key.readString("topic")
            let partition = try key.readInt32("partition")
            return .offsetCommit(group: group, topic: topic, partition: partition, value: try valueBuffer.map(decodeOffset))
        case 2:
            let group = try key.readString("group")
            return .groupMetadata(group: group, value: try valueBuffer.map(decodeGroup))
        default:
            return nil
        }
    }

    // MARK: - Values

    private static func encode(_ value: CommittedOffset) -> ByteBuffer {
        var w = KafkaWriter(flexible: false)
        w.writeInt16(3)
        w.writeInt64(value.offset)
        w.writeInt32(value.leaderEpoch)
        w.writeString(value.metadata)
        w.writeInt64(value.commitTimestampMs)
        return w.buffer
    }

    private static func decodeOffset(_ buffer: ByteBuffer) throws -> CommittedOffset {
        var head = KafkaReader(buffer, flexible: false)
        let version = try head.readInt16("value_version")
        var r = KafkaReader(head.buffer, flexible: version >= 4)
        let offset = try r.readInt64("offset")
        let leaderEpoch = version >= 3 ? try r.readInt32("leader_epoch") : -1
        let metadata = try r.readString("metadata")
        let commitTimestamp = try r.readInt64("commit_timestamp")
        if version == 1 { _ = try r.readInt64("expire_timestamp") }
        return CommittedOffset(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata, commitTimestampMs: commitTimestamp)
    }

    private static func encode(_ value: GroupMetadataValue) -> ByteBuffer {
        var w = KafkaWriter(flexible: false)
        w.writeInt16(3)
        w.writeString(value.protocolType)
        w.writeInt32(value.generationID)
        w.writeNullableString(value.protocolName)
        w.writeNullableString(value.leaderID)
        w.writeInt64(value.currentStateTimestampMs)
        w.writeArray(value.members) { w, m in
            w.writeString(m.memberID)
            w.writeNullableString(m.groupInstanceID)
            w.writeString(m.clientID)
            w.writeString(m.clientHost)
            w.writeInt32(m.rebalanceTimeoutMs)
            w.writeInt32(m.sessionTimeoutMs)
            w.writeBytes(m.subscription)
            w.writeBytes(m.assignment)
        }
        return w.buffer
    }

    private static func decodeGroup(_ buffer: ByteBuffer) throws -> GroupMetadataValue {
        var head = KafkaReader(buffer, flexible: false)
        let version = try head.readInt16("value_version")
        var r = KafkaReader(head.buffer, flexible: version >= 4)
        let protocolType = try r.readString("protocol_type")
        let generation = try r.readInt32("generation")
        let protocolName = try r.readNullableString("protocol")
        let leader = try r.readNullableString("leader")
        let timestamp = version >= 2 ? try r.readInt64("current_state_timestamp") : -1
        let members = try r.readArray("members") { r in
            let memberID = try r.readString("member_id")
            let instance = version >= 3 ? try r.readNullableString("group_instance_id") : nil
            let clientID = try r.readString("client_id")
            let clientHost = try r.readString("client_host")
            let rebalanceTimeout = version >= 1 ? try r.readInt32("rebalance_timeout") : -1
            let sessionTimeout = try r.readInt32("session_timeout")
            let subscription = try r.readBytes("subscription")
            let assignment = try r.readBytes("assignment")
            _ = try r.readTaggedFields()
            return GroupMetadataValue.Member(memberID: memberID, groupInstanceID: instance, clientID: clientID, clientHost: clientHost,
                                             rebalanceTimeoutMs: rebalanceTimeout == -1 ? sessionTimeout : rebalanceTimeout,
                                             sessionTimeoutMs: sessionTimeout, subscription: subscription, assignment: assignment)
        }
        return GroupMetadataValue(protocolType: protocolType, generationID: generation, protocolName: protocolName,
                                  leaderID: leader, currentStateTimestampMs: timestamp, members: members)
    }
}

/// A committed offset as stored and returned by OffsetFetch.
public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    /// The leader epoch of the record at `offset - 1` as the client saw it (KIP-320), -1 unknown.
    public var leaderEpoch: Int32
    /// The client's metadata string (at most `offset.metadata.max.bytes`).
    public var metadata: String
    /// Wall-clock ms when the commit was accepted.
    public var commitTimestampMs: Int64

    public init(offset: Int64, leaderEpoch: Int32, metadata: String, commitTimestampMs: Int64) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestampMs = commitTimestampMs
    }
}

/// A group's persisted state (Kafka's `GroupMetadataValue`): enough to restore a Stable group
/// after a restart, so static members rejoin without a rebalance.
public struct GroupMetadataValue: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        public var rebalanceTimeoutMs: Int32
        public var sessionTimeoutMs: Int32
        /// The member's metadata for the chosen protocol.
        public var subscription: ByteBuffer
        public var assignment: ByteBuffer
    }

    /// Empty for a group that only stores offsets.
    public var protocolType: String
    public var generationID: Int32
    public var protocolName: String?
    public var leaderID: String?
    /// Wall-clock ms of the group's last state change, -1 unknown.
    public var currentStateTimestampMs: Int64
    public var members: [Member]
}

/// The part of a ConsumerProtocolSubscription (versions 0-3) the broker needs: the topic names.
/// Layout: int16 version, then an array of topic names (non-flexible encoding).
public struct ConsumerProtocolSubscription: Sendable, Equatable {
    public var topics: [String]

    public init?(_ bytes: ByteBuffer) {
        var r = KafkaReader(bytes, flexible: false)
        guard let version = try? r.readInt16("version"), version >= 0,
              let topics = try? r.readArray("topics", { try $0.readString("topic") }) else { return nil }
        self.topics = topics
    }
}

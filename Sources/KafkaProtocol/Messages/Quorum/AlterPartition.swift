import NIOCore

/// AlterPartition request (key 56), versions 0-3, flexible from 0 (KIP-497; v1 adds
/// LeaderRecoveryState (KIP-704), v2 names topics by id (KIP-841), v3 sends the new ISR with each
/// member's broker epoch (KIP-903)): a partition leader asks the active controller to change the ISR.
public struct AlterPartitionRequest: KafkaRequest, Equatable {
    public typealias Response = AlterPartitionResponse
    public static let apiKey = ApiKey.alterPartition

    /// An ISR member and the broker epoch the leader saw it with (v3; -1 before).
    public struct BrokerState: Equatable, Sendable {
        public var brokerID: Int32
        public var brokerEpoch: Int64
        public var taggedFields = TaggedFields()

        public init(brokerID: Int32, brokerEpoch: Int64 = -1) {
            self.brokerID = brokerID
            self.brokerEpoch = brokerEpoch
        }
    }

    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var leaderEpoch: Int32
        /// The proposed ISR. Written as `NewIsr` (v0-2) or `NewIsrWithEpochs` (v3).
        public var newISR: [BrokerState]
        /// v1+: 1 while recovering from an unclean election.
        public var leaderRecoveryState: Int8
        /// The partition epoch the proposal is based on.
        public var partitionEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, leaderEpoch: Int32, newISR: [BrokerState], leaderRecoveryState: Int8 = 0,
                    partitionEpoch: Int32) {
            self.partitionIndex = partitionIndex
            self.leaderEpoch = leaderEpoch
            self.newISR = newISR
            self.leaderRecoveryState = leaderRecoveryState
            self.partitionEpoch = partitionEpoch
        }
    }

    public struct Topic: Equatable, Sendable {
        /// v0-1.
        public var topicName: String
        /// v2+.
        public var topicID: UUIDBytes
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(topicName: String = "", topicID: UUIDBytes = .zero, partitions: [Partition]) {
            self.topicName = topicName
            self.topicID = topicID
            self.partitions = partitions
        }
    }

    public var brokerID: Int32
    public var brokerEpoch: Int64
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(brokerID: Int32, brokerEpoch: Int64 = -1, topics: [Topic]) {
        self.brokerID = brokerID
        self.brokerEpoch = brokerEpoch
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        brokerID = try reader.readInt32("broker_id")
        brokerEpoch = try reader.readInt64("broker_epoch")
        topics = try reader.readArray("topics") { r in
            let name = version <= 1 ? try r.readString("topic_name") : ""
            let id = version >= 2 ? try r.readUUID("topic_id") : .zero
            let partitions = try r.readArray("partitions") { r -> Partition in
                let index = try r.readInt32("partition_index")
                let leaderEpoch = try r.readInt32("leader_epoch")
                let isr: [BrokerState]
                if version >= 3 {
                    isr = try r.readArray("new_isr_with_epochs") { r in
                        var b = BrokerState(brokerID: try r.readInt32("broker_id"), brokerEpoch: try r.readInt64("broker_epoch"))
                        b.taggedFields = try r.readTaggedFields()
                        return b
                    }
                } else {
                    isr = try r.readArray("new_isr") { BrokerState(brokerID: try $0.readInt32("broker_id")) }
                }
                let recovery = version >= 1 ? try r.readInt8("leader_recovery_state") : 0
                var p = Partition(partitionIndex: index, leaderEpoch: leaderEpoch, newISR: isr, leaderRecoveryState: recovery,
                                  partitionEpoch: try r.readInt32("partition_epoch"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(topicName: name, topicID: id, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(brokerID)
        writer.writeInt64(brokerEpoch)
        writer.writeArray(topics) { w, t in
            if version <= 1 { w.writeString(t.topicName) } else { w.writeUUID(t.topicID) }
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt32(p.leaderEpoch)
                if version >= 3 {
                    w.writeArray(p.newISR) { w, b in
                        w.writeInt32(b.brokerID); w.writeInt64(b.brokerEpoch); w.writeTaggedFields(b.taggedFields)
                    }
                } else {
                    w.writeArray(p.newISR) { w, b in w.writeInt32(b.brokerID) }
                }
                if version >= 1 { w.writeInt8(p.leaderRecoveryState) }
                w.writeInt32(p.partitionEpoch)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// AlterPartition response (key 56), versions 0-3, flexible from 0: per partition the error, or
/// the partition's state after the change (leader, leader epoch, ISR, partition epoch).
public struct AlterPartitionResponse: KafkaMessage, Equatable {
    public struct Partition: Equatable, Sendable {
        public var partitionIndex: Int32
        public var errorCode: ErrorCode
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var isr: [Int32]
        /// v1+.
        public var leaderRecoveryState: Int8
        public var partitionEpoch: Int32
        public var taggedFields = TaggedFields()

        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, leaderID: Int32 = -1, leaderEpoch: Int32 = -1,
                    isr: [Int32] = [], leaderRecoveryState: Int8 = 0, partitionEpoch: Int32 = -1) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.isr = isr
            self.leaderRecoveryState = leaderRecoveryState
            self.partitionEpoch = partitionEpoch
        }
    }

    public struct Topic: Equatable, Sendable {
        /// v0-1.
        public var topicName: String
        /// v2+.
        public var topicID: UUIDBytes
        public var partitions: [Partition]
        public var taggedFields = TaggedFields()

        public init(topicName: String = "", topicID: UUIDBytes = .zero, partitions: [Partition]) {
            self.topicName = topicName
            self.topicID = topicID
            self.partitions = partitions
        }
    }

    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var topics: [Topic]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, topics: [Topic]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        topics = try reader.readArray("topics") { r in
            let name = version <= 1 ? try r.readString("topic_name") : ""
            let id = version >= 2 ? try r.readUUID("topic_id") : .zero
            let partitions = try r.readArray("partitions") { r -> Partition in
                let index = try r.readInt32("partition_index")
                let error = ErrorCode(try r.readInt16("error_code"))
                let leader = try r.readInt32("leader_id")
                let epoch = try r.readInt32("leader_epoch")
                let isr = try r.readArray("isr") { try $0.readInt32("broker_id") }
                let recovery = version >= 1 ? try r.readInt8("leader_recovery_state") : 0
                var p = Partition(partitionIndex: index, errorCode: error, leaderID: leader, leaderEpoch: epoch, isr: isr,
                                  leaderRecoveryState: recovery, partitionEpoch: try r.readInt32("partition_epoch"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = Topic(topicName: name, topicID: id, partitions: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeArray(topics) { w, t in
            if version <= 1 { w.writeString(t.topicName) } else { w.writeUUID(t.topicID) }
            w.writeArray(t.partitions) { w, p in
                w.writeInt32(p.partitionIndex)
                w.writeInt16(p.errorCode.rawValue)
                w.writeInt32(p.leaderID)
                w.writeInt32(p.leaderEpoch)
                w.writeArray(p.isr) { w, id in w.writeInt32(id) }
                if version >= 1 { w.writeInt8(p.leaderRecoveryState) }
                w.writeInt32(p.partitionEpoch)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

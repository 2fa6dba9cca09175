import KafkaProtocol
import NIOCore
@testable import RunnelBroker
import Testing

/// The broker-registration and partition-change metadata records (Kafka 3.9's
/// `metadata/src/main/resources/common/metadata/*.json`) in ``MetadataRecord``'s framing, and how
/// ``MetadataImage`` applies them. kafka-python has no metadata-record classes, so every vector
/// here is derived by hand from the schemas.
struct ClusterMetadataRecordTests {
    static let topicID = UUIDBytes(high: 0x1111, low: 0x2222)
    static let incarnation = UUIDBytes(high: 0, low: 2)
    static let dirA = UUIDBytes(high: 0, low: 1)
    static let dirB = UUIDBytes(high: 0, low: 3)
    static let dirABytes: [UInt8] = Array(repeating: 0, count: 15) + [1]
    static let dirBBytes: [UInt8] = Array(repeating: 0, count: 15) + [3]

    static func cat(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }
    static func bytes(_ record: MetadataRecord) -> [UInt8] { Array(record.encoded().readableBytesView) }
    static func decode(_ bytes: [UInt8]) throws -> MetadataRecord? { try MetadataRecord.decode(ByteBuffer(bytes: bytes)) }

    static func registration(version: Int16 = 3, epoch: Int64 = 7) -> MetadataRecord.RegisterBrokerRecordData {
        .init(version: version, brokerID: 1, incarnationID: incarnation, brokerEpoch: epoch,
              endpoints: [.init(name: "P", host: "h", port: 9092)],
              features: [.init(name: "f", minSupportedVersion: 1, maxSupportedVersion: 21)], rack: "r",
              logDirs: version >= 3 ? [dirB] : [])
    }

    // MARK: Byte vectors

    @Test func registerBrokerRecordV3Bytes() throws {
        let bytes = Self.cat(
            [1],                                // frame version
            [0],                                // api key: RegisterBrokerRecord
            [3],                                // record version
            [0, 0, 0, 1],                       // broker_id
            [0],                                // is_migrating_zk_broker (v2+): false
            Array(repeating: 0, count: 15) + [2], // incarnation_id
            [0, 0, 0, 0, 0, 0, 0, 7],           // broker_epoch
            [2],                                // end_points: 1
            [2, 0x50],                          //   name "P"
            [2, 0x68],                          //   host "h"
            [0x23, 0x84],                       //   port 9092 (uint16)
            [0, 0],                             //   security_protocol: PLAINTEXT
            [0],                                //   endpoint tags
            [2],                                // features: 1
            [2, 0x66],                          //   name "f"
            [0, 1],                             //   min_supported_version
            [0, 21],                            //   max_supported_version
            [0],                                //   feature tags
            [2, 0x72],                          // rack "r"
            [1],                                // fenced: true
            [0],                                // in_controlled_shutdown (v1+): false
            [1, 0, 17],                         // tags: 1 field, tag 0 (log_dirs, v3+), 17 bytes
            [2], Self.dirBBytes)                //   compact array of 1 uuid
        let record = MetadataRecord.registerBroker(Self.registration())
        #expect(Self.bytes(record) == bytes)
        #expect(try Self.decode(bytes) == record)
    }

    @Test func registerBrokerRecordV0Bytes() throws {
        // v0: no is_migrating_zk_broker, no in_controlled_shutdown, no tagged log dirs.
        let bytes = Self.cat(
            [1, 0, 0],                          // frame, api key 0, version 0
            [0, 0, 0, 1],                       // broker_id
            Array(repeating: 0, count: 15) + [2], // incarnation_id
            [0, 0, 0, 0, 0, 0, 0, 7],           // broker_epoch
            [1],                                // end_points: 0
            [1],                                // features: 0
            [0],                                // rack: null
            [0],                                // fenced: false
            [0])                                // tags
        let record = MetadataRecord.registerBroker(.init(version: 0, brokerID: 1, incarnationID: Self.incarnation, brokerEpoch: 7,
                                                         endpoints: [], fenced: false))
        #expect(Self.bytes(record) == bytes)
        #expect(try Self.decode(bytes) == record)
    }

    @Test func brokerLifecycleRecordBytes() throws {
        let body: [UInt8] = [
            0, 0, 0, 1,                         // broker_id / id
            0, 0, 0, 0, 0, 0, 0, 7,             // broker_epoch / epoch
            0,                                  // tags
        ]
        // UnregisterBrokerRecord: api key 1, v0.
        #expect(Self.bytes(.unregisterBroker(brokerID: 1, brokerEpoch: 7)) == [1, 1, 0] + body)
        #expect(try Self.decode([1, 1, 0] + body) == .unregisterBroker(brokerID: 1, brokerEpoch: 7))
        // FenceBrokerRecord: api key 7, v0.
        #expect(Self.bytes(.fenceBroker(brokerID: 1, brokerEpoch: 7)) == [1, 7, 0] + body)
        #expect(try Self.decode([1, 7, 0] + body) == .fenceBroker(brokerID: 1, brokerEpoch: 7))
        // UnfenceBrokerRecord: api key 8, v0.
        #expect(Self.bytes(.unfenceBroker(brokerID: 1, brokerEpoch: 7)) == [1, 8, 0] + body)
        #expect(try Self.decode([1, 8, 0] + body) == .unfenceBroker(brokerID: 1, brokerEpoch: 7))
    }

    @Test func partitionChangeRecordV1Bytes() throws {
        let bytes = Self.cat(
            [1, 5, 1],                          // frame, api key 5 (PartitionChangeRecord), version 1
            [0, 0, 0, 2],                       // partition_id
            [0, 0, 0, 0, 0, 0, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0x22, 0x22], // topic_id
            [4],                                // tags: 4 fields, ascending
            [0, 9, 3, 0, 0, 0, 1, 0, 0, 0, 2],  //   tag 0 isr, 9 bytes: [1, 2]
            [1, 4, 0, 0, 0, 2],                 //   tag 1 leader, 4 bytes: 2
            [5, 1, 0],                          //   tag 5 leader_recovery_state, 1 byte: RECOVERED
            [8, 17, 2], Self.dirABytes)         //   tag 8 directories (v1+), 17 bytes: [dirA]
        let record = MetadataRecord.partitionChange(.init(partitionID: 2, topicID: Self.topicID, isr: [1, 2], leader: 2,
                                                          leaderRecoveryState: 0, directories: [Self.dirA]))
        #expect(Self.bytes(record) == bytes)
        #expect(try Self.decode(bytes) == record)
        // All defaults: nothing tagged, "no change" everywhere.
        let empty = Self.cat([1, 5, 0], [0, 0, 0, 2], [0, 0, 0, 0, 0, 0, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0x22, 0x22], [0])
        let none = MetadataRecord.partitionChange(.init(version: 0, partitionID: 2, topicID: Self.topicID))
        #expect(Self.bytes(none) == empty)
        #expect(try Self.decode(empty) == none)
        // An empty ISR is not null: it is written.
        let emptyISR = MetadataRecord.partitionChange(.init(version: 0, partitionID: 2, topicID: Self.topicID, isr: []))
        #expect(Array(Self.bytes(emptyISR).suffix(4)) == [1, 0, 1, 1])
        #expect(try Self.decode(Self.bytes(emptyISR)) == emptyISR)
    }

    @Test func brokerRegistrationChangeRecordV2Bytes() throws {
        let bytes = Self.cat(
            [1, 17, 2],                         // frame, api key 17, version 2
            [0, 0, 0, 1],                       // broker_id
            [0, 0, 0, 0, 0, 0, 0, 7],           // broker_epoch
            [3],                                // tags: 3 fields
            [0, 1, 0xFF],                       //   tag 0 fenced, 1 byte: -1 (unfenced)
            [1, 1, 1],                          //   tag 1 in_controlled_shutdown (v1+), 1 byte: 1
            [2, 17, 2], Self.dirBBytes)         //   tag 2 log_dirs (v2+), 17 bytes: [dirB]
        let record = MetadataRecord.brokerRegistrationChange(.init(brokerID: 1, brokerEpoch: 7, fenced: -1, inControlledShutdown: 1,
                                                                   logDirs: [Self.dirB]))
        #expect(Self.bytes(record) == bytes)
        #expect(try Self.decode(bytes) == record)
        // v0 writes only the fenced tag.
        let v0 = MetadataRecord.brokerRegistrationChange(.init(version: 0, brokerID: 1, brokerEpoch: 7, fenced: 1))
        #expect(Self.bytes(v0) == Self.cat([1, 17, 0], [0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 7], [1, 0, 1, 1]))
    }

    // MARK: Round trips

    @Test(arguments: Int16(0)...3)
    func registerBrokerRoundTrips(version: Int16) throws {
        var data = Self.registration(version: version)
        data.isMigratingZkBroker = version >= 2
        data.inControlledShutdown = version >= 1
        data.rack = version == 1 ? nil : "rack-a"
        let record = MetadataRecord.registerBroker(data)
        #expect(try Self.decode(Self.bytes(record)) == record)
    }

    @Test(arguments: Int16(0)...2)
    func partitionChangeRoundTrips(version: Int16) throws {
        let record = MetadataRecord.partitionChange(.init(
            version: version, partitionID: 0, topicID: Self.topicID, isr: [1, 2, 3], leader: -1, replicas: [1, 2, 3],
            removingReplicas: [3], addingReplicas: [], leaderRecoveryState: 1,
            eligibleLeaderReplicas: version >= 2 ? [2] : nil, lastKnownELR: version >= 2 ? [] : nil,
            directories: version >= 1 ? [Self.dirA, Self.dirA, Self.dirB] : nil))
        #expect(try Self.decode(Self.bytes(record)) == record)
    }

    @Test(arguments: Int16(0)...2)
    func brokerRegistrationChangeRoundTrips(version: Int16) throws {
        let record = MetadataRecord.brokerRegistrationChange(.init(
            version: version, brokerID: 3, brokerEpoch: 99, fenced: 1, inControlledShutdown: version >= 1 ? 1 : 0,
            logDirs: version >= 2 ? [Self.dirA] : []))
        #expect(try Self.decode(Self.bytes(record)) == record)
    }

    @Test func unsupportedRecordVersionsAreRejected() {
        #expect(throws: ProtocolError.self) { _ = try Self.decode([1, 0, 4, 0, 0, 0, 1]) }
        #expect(throws: ProtocolError.self) { _ = try Self.decode([1, 5, 3, 0, 0, 0, 1]) }
        #expect(throws: ProtocolError.self) { _ = try Self.decode([1, 17, 3, 0, 0, 0, 1]) }
    }

    // MARK: MetadataImage

    @Test func registerFenceUnfenceUnregister() {
        var image = MetadataImage()
        image.apply(.registerBroker(Self.registration()))
        var broker = try! #require(image.brokers[1])
        #expect(broker.epoch == 7)
        #expect(broker.fenced)
        #expect(broker.rack == "r")
        #expect(broker.endpoints == [.init(name: "P", host: "h", port: 9092)])
        #expect(broker.logDirs == [Self.dirB])

        // A stale epoch changes nothing.
        image.apply(.unfenceBroker(brokerID: 1, brokerEpoch: 6))
        #expect(image.brokers[1]?.fenced == true)
        image.apply(.unfenceBroker(brokerID: 1, brokerEpoch: 7))
        #expect(image.brokers[1]?.fenced == false)
        image.apply(.fenceBroker(brokerID: 1, brokerEpoch: 7))
        #expect(image.brokers[1]?.fenced == true)

        // BrokerRegistrationChangeRecord: -1 unfences, 0 leaves alone, 1 fences.
        image.apply(.brokerRegistrationChange(.init(brokerID: 1, brokerEpoch: 7, fenced: -1)))
        #expect(image.brokers[1]?.fenced == false)
        image.apply(.brokerRegistrationChange(.init(brokerID: 1, brokerEpoch: 7, fenced: 0, inControlledShutdown: 1, logDirs: [Self.dirA])))
        broker = image.brokers[1]!
        #expect(!broker.fenced)
        #expect(broker.inControlledShutdown)
        #expect(broker.logDirs == [Self.dirA])
        image.apply(.brokerRegistrationChange(.init(brokerID: 1, brokerEpoch: 7, fenced: 1)))
        #expect(image.brokers[1]?.fenced == true)
        #expect(image.brokers[1]?.logDirs == [Self.dirA])

        // A re-registration with a new epoch replaces the old one.
        image.apply(.registerBroker(Self.registration(epoch: 9)))
        #expect(image.brokers[1]?.epoch == 9)
        #expect(image.brokers[1]?.inControlledShutdown == false)

        image.apply(.unregisterBroker(brokerID: 1, brokerEpoch: 7))
        #expect(image.brokers[1] != nil)
        image.apply(.unregisterBroker(brokerID: 1, brokerEpoch: 9))
        #expect(image.brokers[1] == nil)
        #expect(image.brokers.isEmpty)
        // Records about an unknown broker are ignored.
        image.apply(.fenceBroker(brokerID: 5, brokerEpoch: 1))
        #expect(image.brokers.isEmpty)
    }

    @Test func partitionChangeUpdatesLeaderISRAndEpochs() {
        var image = MetadataImage()
        image.apply(.topic(name: "t", topicID: Self.topicID))
        image.apply(.partition(.init(partitionID: 0, topicID: Self.topicID, replicas: [1, 2, 3], isr: [1, 2, 3],
                                     leader: 1, leaderEpoch: 0, partitionEpoch: 0)))

        // ISR shrink, leader unchanged (-2): the partition epoch moves, the leader epoch does not.
        image.apply(.partitionChange(.init(partitionID: 0, topicID: Self.topicID, isr: [1, 2])))
        var p = image.topics["t"]!.partitions[0]!
        #expect(p.isr == [1, 2])
        #expect(p.leader == 1)
        #expect(p.leaderEpoch == 0)
        #expect(p.partitionEpoch == 1)

        // New leader: leader epoch and partition epoch both move.
        image.apply(.partitionChange(.init(partitionID: 0, topicID: Self.topicID, isr: [2], leader: 2)))
        p = image.topics["t"]!.partitions[0]!
        #expect(p.leader == 2)
        #expect(p.isr == [2])
        #expect(p.leaderEpoch == 1)
        #expect(p.partitionEpoch == 2)

        // -1: no leader at all (still a leader change).
        image.apply(.partitionChange(.init(partitionID: 0, topicID: Self.topicID, leader: -1)))
        p = image.topics["t"]!.partitions[0]!
        #expect(p.leader == -1)
        #expect(p.isr == [2])
        #expect(p.leaderEpoch == 2)
        #expect(p.partitionEpoch == 3)

        // Replica reassignment.
        image.apply(.partitionChange(.init(partitionID: 0, topicID: Self.topicID, leader: 3, replicas: [2, 3, 4])))
        p = image.topics["t"]!.partitions[0]!
        #expect(p.replicas == [2, 3, 4])
        #expect(p.leader == 3)
        #expect(p.leaderEpoch == 3)
        #expect(p.partitionEpoch == 4)

        // Unknown topics and partitions are ignored.
        let before = image
        image.apply(.partitionChange(.init(partitionID: 9, topicID: Self.topicID, leader: 1)))
        image.apply(.partitionChange(.init(partitionID: 0, topicID: UUIDBytes(high: 9, low: 9), leader: 1)))
        #expect(image == before)
    }
}

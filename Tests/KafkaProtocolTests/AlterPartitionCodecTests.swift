import KafkaProtocol
import NIOCore
import Testing

/// AlterPartition (56) v0-3 against bytes derived by hand from Kafka's AlterPartitionRequest.json
/// and AlterPartitionResponse.json (flexible from v0: compact arrays and strings, tag buffers).
struct AlterPartitionCodecTests {
    static func decodeExact<M: KafkaMessage>(_ bytes: [UInt8], as: M.Type, _ version: Int16) throws -> M {
        var reader = KafkaReader(ByteBuffer(bytes: bytes), flexible: true)
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        return decoded
    }

    static func bytes<M: KafkaMessage>(_ message: M, _ version: Int16) -> [UInt8] {
        Array(message.encoded(apiKey: .alterPartition, version: version).readableBytesView)
    }

    static let topicID = UUIDBytes(high: 0x0011_2233_4455_6677, low: 0x8899_aabb_ccdd_eeff)

    @Test func keyAndFlexibility() {
        #expect(ApiKey.alterPartition.rawValue == 56 && ApiKey.alterPartition.description == "AlterPartition")
        #expect(ApiKey.alterPartition.isFlexible(0) && ApiKey.alterPartition.requestHeaderVersion(0) == 2)
    }

    @Test func requestV0NamesTheTopicAndListsTheISR() throws {
        let request = AlterPartitionRequest(brokerID: 1, brokerEpoch: 5, topics: [
            .init(topicName: "t", partitions: [.init(partitionIndex: 2, leaderEpoch: 3, newISR: [.init(brokerID: 1), .init(brokerID: 3)],
                                                     partitionEpoch: 7)]),
        ])
        let expected: [UInt8] = [
            0, 0, 0, 1,  // broker_id
            0, 0, 0, 0, 0, 0, 0, 5,  // broker_epoch
            2,  // topics: 1
            2, 0x74,  // topic_name "t"
            2,  // partitions: 1
            0, 0, 0, 2,  // partition_index
            0, 0, 0, 3,  // leader_epoch
            3, 0, 0, 0, 1, 0, 0, 0, 3,  // new_isr [1, 3]
            0, 0, 0, 7,  // partition_epoch
            0,  // partition tags
            0,  // topic tags
            0,  // request tags
        ]
        #expect(Self.bytes(request, 0) == expected)
        #expect(try Self.decodeExact(expected, as: AlterPartitionRequest.self, 0) == request)
    }

    @Test func requestV3CarriesTopicIDsRecoveryStateAndBrokerEpochs() throws {
        let request = AlterPartitionRequest(brokerID: 2, brokerEpoch: -1, topics: [
            .init(topicID: Self.topicID, partitions: [.init(partitionIndex: 0, leaderEpoch: 9,
                                                            newISR: [.init(brokerID: 2, brokerEpoch: 40)],
                                                            leaderRecoveryState: 1, partitionEpoch: 11)]),
        ])
        let expected: [UInt8] = [
            0, 0, 0, 2,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            2,
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,  // topic_id
            2,
            0, 0, 0, 0,
            0, 0, 0, 9,
            2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 40, 0,  // new_isr_with_epochs [(2, 40)] + tags
            1,  // leader_recovery_state
            0, 0, 0, 11,
            0, 0, 0,
        ]
        #expect(Self.bytes(request, 3) == expected)
        #expect(try Self.decodeExact(expected, as: AlterPartitionRequest.self, 3) == request)
        // v2 has the topic id but the plain ISR list (broker epochs are dropped).
        var v2 = request
        v2.topics[0].partitions[0].newISR = [.init(brokerID: 2)]
        #expect(try Self.decodeExact(Self.bytes(request, 2), as: AlterPartitionRequest.self, 2) == v2)
    }

    @Test func responsesRoundTripInEveryVersion() throws {
        let response = AlterPartitionResponse(topics: [
            .init(topicName: "orders", topicID: Self.topicID, partitions: [
                .init(partitionIndex: 1, errorCode: .none, leaderID: 3, leaderEpoch: 4, isr: [3, 1], leaderRecoveryState: 1, partitionEpoch: 8),
                .init(partitionIndex: 2, errorCode: ErrorCode(106)),
            ]),
        ])
        let v1Bytes: [UInt8] = [
            0, 0, 0, 0, 0, 0,  // throttle, error
            2, 7, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73,  // topics: 1, "orders"
            3,  // partitions: 2
            0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4, 3, 0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 0, 0, 8, 0,
            0, 0, 0, 2, 0, 106, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0xff, 0xff, 0xff, 0xff, 0,
            0, 0,
        ]
        #expect(Self.bytes(response, 1) == v1Bytes)
        for version: Int16 in 0...3 {
            var expected = response
            if version <= 1 { expected.topics[0].topicID = .zero } else { expected.topics[0].topicName = "" }
            if version == 0 { expected.topics[0].partitions[0].leaderRecoveryState = 0 }
            #expect(try Self.decodeExact(Self.bytes(response, version), as: AlterPartitionResponse.self, version) == expected)
        }
    }

    @Test func truncatedInputThrows() {
        let full = Self.bytes(AlterPartitionRequest(brokerID: 1, topics: [.init(topicName: "t", partitions: [
            .init(partitionIndex: 0, leaderEpoch: 0, newISR: [.init(brokerID: 1)], partitionEpoch: 0)])]), 0)
        for cut in 0..<full.count {
            #expect(throws: ProtocolError.self) { try Self.decodeExact(Array(full.prefix(cut)), as: AlterPartitionRequest.self, 0) }
        }
    }
}

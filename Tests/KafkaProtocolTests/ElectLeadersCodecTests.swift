import KafkaProtocol
import NIOCore
import Testing

/// ElectLeaders (key 43) codecs: round trips for v0-2 and bytes worked out by hand from
/// ElectLeadersRequest.json / ElectLeadersResponse.json.
@Suite struct ElectLeadersCodecTests {
    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    private static func roundTrip<M: KafkaMessage & Equatable>(_ value: M, _ version: Int16,
                                                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let encoded = value.encoded(apiKey: .electLeaders, version: version)
        var reader = KafkaReader(encoded, flexible: ApiKey.electLeaders.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        #expect(decoded == value, "\(M.self) v\(version) decoded differently", sourceLocation: sourceLocation)
    }

    @Test(arguments: Int16(0)...2)
    func roundTrips(version: Int16) throws {
        let type: Int8 = version >= 1 ? 1 : 0
        try Self.roundTrip(ElectLeadersRequest(electionType: type, topicPartitions: [.init(topic: "t", partitions: [0, 2])], timeoutMs: 500), version)
        try Self.roundTrip(ElectLeadersRequest(electionType: type, topicPartitions: nil, timeoutMs: 500), version)
        try Self.roundTrip(ElectLeadersResponse(throttleTimeMs: 3, errorCode: version >= 1 ? .notController : .none, replicaElectionResults: [
            .init(topic: "t", partitionResults: [.init(partitionID: 0), .init(partitionID: 2, errorCode: .electionNotNeeded, errorMessage: "no")]),
        ]), version)
    }

    @Test func requestBytes() {
        // v1: election type, then a classic nullable array (int32 count; -1 is null), timeout.
        let v1 = ElectLeadersRequest(electionType: 0, topicPartitions: [.init(topic: "t", partitions: [5])], timeoutMs: 1000)
        #expect(Self.bytes(v1.encoded(apiKey: .electLeaders, version: 1)) == [
            0x00,                                   // election_type
            0x00, 0x00, 0x00, 0x01,                 // topic_partitions: 1
            0x00, 0x01, 0x74,                       // topic "t"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, // partitions [5]
            0x00, 0x00, 0x03, 0xE8,                 // timeout_ms 1000
        ])
        // v2 (flexible): compact arrays (count + 1, 0 is null) and tagged fields.
        let all = ElectLeadersRequest(electionType: 1, topicPartitions: nil, timeoutMs: 1000)
        #expect(Self.bytes(all.encoded(apiKey: .electLeaders, version: 2)) == [0x01, 0x00, 0x00, 0x00, 0x03, 0xE8, 0x00])
        // v0 has no election type.
        #expect(Self.bytes(all.encoded(apiKey: .electLeaders, version: 0)) == [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x03, 0xE8])
    }

    @Test func responseBytes() {
        let response = ElectLeadersResponse(throttleTimeMs: 0, errorCode: .none, replicaElectionResults: [
            .init(topic: "t", partitionResults: [.init(partitionID: 1, errorCode: .electionNotNeeded, errorMessage: nil)]),
        ])
        #expect(Self.bytes(response.encoded(apiKey: .electLeaders, version: 2)) == [
            0x00, 0x00, 0x00, 0x00,     // throttle_time_ms
            0x00, 0x00,                 // error_code
            0x02,                       // 1 result
            0x02, 0x74,                 // topic "t"
            0x02,                       // 1 partition result
            0x00, 0x00, 0x00, 0x01,     // partition_id 1
            0x00, 0x54,                 // ELECTION_NOT_NEEDED (84)
            0x00,                       // error_message null
            0x00, 0x00, 0x00,           // tagged fields: partition, topic, response
        ])
        #expect(ErrorCode.electionNotNeeded.description == "ELECTION_NOT_NEEDED")
        #expect(ApiKey.electLeaders.description == "ElectLeaders")
    }
}

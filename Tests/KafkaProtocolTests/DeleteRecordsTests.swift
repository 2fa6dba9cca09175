import KafkaProtocol
import NIOCore
import Testing

/// DeleteRecords (key 21) codecs: round trips for v0-2 and hand-computed bytes.
@Suite struct DeleteRecordsTests {
    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    /// An unknown tagged field, to check that re-encoding keeps tags Runnel does not model.
    private static func unknownTags(_ tag: UInt32 = 9) -> TaggedFields {
        TaggedFields([(tag: tag, value: ByteBuffer(bytes: [0xAB, 0xCD]))])
    }

    /// Encodes, decodes (checking nothing is left over), compares, and re-encodes `value`.
    private static func roundTrip<M: KafkaMessage & Equatable>(
        _ value: M, _ version: Int16, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let encoded = value.encoded(apiKey: .deleteRecords, version: version)
        var reader = KafkaReader(encoded, flexible: ApiKey.deleteRecords.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        #expect(decoded == value, "\(M.self) v\(version) decoded differently", sourceLocation: sourceLocation)
        #expect(bytes(decoded.encoded(apiKey: .deleteRecords, version: version)) == bytes(encoded),
                "\(M.self) v\(version) re-encoded differently", sourceLocation: sourceLocation)
    }

    static func request(_ v: Int16) -> DeleteRecordsRequest {
        let flexible = ApiKey.deleteRecords.isFlexible(v)
        var p0 = DeleteRecordsRequest.Partition(partitionIndex: 0, offset: 42)
        if flexible { p0.taggedFields = unknownTags() }
        var t0 = DeleteRecordsRequest.Topic(name: "alpha", partitions: [p0, .init(partitionIndex: 3, offset: -1)])
        if flexible { t0.taggedFields = unknownTags(2) }
        var req = DeleteRecordsRequest(topics: [t0, .init(name: "beta", partitions: [])], timeoutMs: 30_000)
        if flexible { req.taggedFields = unknownTags(5) }
        return req
    }

    static func response(_ v: Int16) -> DeleteRecordsResponse {
        let flexible = ApiKey.deleteRecords.isFlexible(v)
        var p0 = DeleteRecordsResponse.Partition(partitionIndex: 0, lowWatermark: 42)
        if flexible { p0.taggedFields = unknownTags() }
        let p1 = DeleteRecordsResponse.Partition(partitionIndex: 3, errorCode: .offsetOutOfRange)
        var t0 = DeleteRecordsResponse.Topic(name: "alpha", partitions: [p0, p1])
        if flexible { t0.taggedFields = unknownTags(2) }
        let t1 = DeleteRecordsResponse.Topic(name: "gone", partitions: [.init(partitionIndex: 0, errorCode: .unknownTopicOrPartition)])
        var resp = DeleteRecordsResponse(throttleTimeMs: 17, topics: [t0, t1])
        if flexible { resp.taggedFields = unknownTags(1) }
        return resp
    }

    @Test func flexibleFromV2() {
        #expect(ApiKey.deleteRecords.rawValue == 21)
        #expect(ApiKey.deleteRecords.firstFlexibleVersion == 2)
        #expect(ApiKey.deleteRecords.requestHeaderVersion(1) == 1)
        #expect(ApiKey.deleteRecords.requestHeaderVersion(2) == 2)
        #expect(ApiKey.deleteRecords.responseHeaderVersion(2) == 1)
        #expect(ApiKey.deleteRecords.description == "DeleteRecords")
    }

    @Test(arguments: Int16(0)...2)
    func roundTrips(version: Int16) throws {
        try Self.roundTrip(Self.request(version), version)
        try Self.roundTrip(Self.response(version), version)
    }

    @Test func v2RequestBytes() throws {
        let req = DeleteRecordsRequest(topics: [.init(name: "t", partitions: [.init(partitionIndex: 1, offset: 5)])],
                                       timeoutMs: 1000)
        let expected: [UInt8] = [
            0x02,                                            // topics: compact array of 1
            0x02, 0x74,                                      // name: compact string "t"
            0x02,                                            // partitions: compact array of 1
            0x00, 0x00, 0x00, 0x01,                          // partition_index 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // offset 5
            0x00,                                            // partition tags
            0x00,                                            // topic tags
            0x00, 0x00, 0x03, 0xE8,                          // timeout_ms 1000
            0x00,                                            // top-level tags
        ]
        #expect(Self.bytes(req.encoded(apiKey: .deleteRecords, version: 2)) == expected)
        #expect(try DeleteRecordsRequest.decode(ByteBuffer(bytes: expected), apiKey: .deleteRecords, version: 2) == req)
    }

    @Test func v2ResponseBytes() throws {
        let resp = DeleteRecordsResponse(topics: [.init(name: "t", partitions: [
            .init(partitionIndex: 0, lowWatermark: 5),
            .init(partitionIndex: 1, errorCode: .unknownTopicOrPartition),
        ])])
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x00,                          // throttle_time_ms 0
            0x02,                                            // topics: compact array of 1
            0x02, 0x74,                                      // name "t"
            0x03,                                            // partitions: compact array of 2
            0x00, 0x00, 0x00, 0x00,                          // partition_index 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // low_watermark 5
            0x00, 0x00,                                      // error_code NONE
            0x00,                                            // partition tags
            0x00, 0x00, 0x00, 0x01,                          // partition_index 1
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // low_watermark -1
            0x00, 0x03,                                      // error_code UNKNOWN_TOPIC_OR_PARTITION
            0x00,                                            // partition tags
            0x00,                                            // topic tags
            0x00,                                            // top-level tags
        ]
        #expect(Self.bytes(resp.encoded(apiKey: .deleteRecords, version: 2)) == expected)
        #expect(try DeleteRecordsResponse.decode(ByteBuffer(bytes: expected), apiKey: .deleteRecords, version: 2) == resp)
    }

    @Test func v0RequestBytes() {
        let req = DeleteRecordsRequest(topics: [.init(name: "t", partitions: [.init(partitionIndex: 1, offset: -1)])],
                                       timeoutMs: 1000)
        #expect(Self.bytes(req.encoded(apiKey: .deleteRecords, version: 0)) == [
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0x00, 0x00, 0x03, 0xE8,
        ])
    }

    @Test func truncatedRequestThrows() {
        let full = Self.bytes(Self.request(2).encoded(apiKey: .deleteRecords, version: 2))
        for length in [0, 3, full.count / 2, full.count - 1] {
            #expect(throws: ProtocolError.self) {
                try DeleteRecordsRequest.decode(ByteBuffer(bytes: full.prefix(length)), apiKey: .deleteRecords, version: 2)
            }
        }
    }
}

import KafkaProtocol
import NIOCore
import Testing

/// DescribeClientQuotas (key 48) and AlterClientQuotas (key 49) codecs (KIP-546), versions 0-1:
/// round trips and bytes written out by hand from Kafka's message JSON schemas.
@Suite struct ClientQuotasCodecTests {
    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
    private static func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

    private static func roundTrip<M: KafkaMessage & Equatable>(
        _ value: M, _ apiKey: ApiKey, _ version: Int16, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let encoded = value.encoded(apiKey: apiKey, version: version)
        var reader = KafkaReader(encoded, flexible: apiKey.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        #expect(decoded == value, "\(M.self) v\(version) decoded differently", sourceLocation: sourceLocation)
        #expect(bytes(decoded.encoded(apiKey: apiKey, version: version)) == bytes(encoded), sourceLocation: sourceLocation)
    }

    private static func decode<M: KafkaMessage>(_ type: M.Type, _ raw: [UInt8], _ apiKey: ApiKey, _ version: Int16) throws -> M {
        var reader = KafkaReader(ByteBuffer(bytes: raw), flexible: apiKey.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        return decoded
    }

    static let clientA = ClientQuotaEntityComponent(entityType: "client-id", entityName: "A")
    static let defaultUser = ClientQuotaEntityComponent(entityType: "user", entityName: nil)

    @Test func keysAndFlexibleVersions() {
        #expect(ApiKey.describeClientQuotas.rawValue == 48)
        #expect(ApiKey.alterClientQuotas.rawValue == 49)
        for key in [ApiKey.describeClientQuotas, .alterClientQuotas] {
            #expect(key.firstFlexibleVersion == 1)
            #expect(key.requestHeaderVersion(0) == 1 && key.requestHeaderVersion(1) == 2)
            #expect(key.responseHeaderVersion(0) == 0 && key.responseHeaderVersion(1) == 1)
        }
        #expect(ApiKey.describeClientQuotas.description == "DescribeClientQuotas")
        #expect(ApiKey.alterClientQuotas.description == "AlterClientQuotas")
    }

    @Test func describeRequestV0Bytes() throws {
        let raw: [UInt8] = [0, 0, 0, 1, 0, 4] + Self.utf8("user") + [1, 0xFF, 0xFF, 1]
        let request = try Self.decode(DescribeClientQuotasRequest.self, raw, .describeClientQuotas, 0)
        #expect(request == DescribeClientQuotasRequest(components: [.init(entityType: "user", matchType: 1)], strict: true))
        #expect(Self.bytes(request.encoded(apiKey: .describeClientQuotas, version: 0)) == raw)
    }

    @Test func describeRequestV1Bytes() throws {
        let raw: [UInt8] = [2, 10] + Self.utf8("client-id") + [0, 2] + Self.utf8("A") + [0, 0, 0]
        let request = try Self.decode(DescribeClientQuotasRequest.self, raw, .describeClientQuotas, 1)
        #expect(request == DescribeClientQuotasRequest(components: [.init(entityType: "client-id", matchType: 0, match: "A")],
                                                        strict: false))
        #expect(Self.bytes(request.encoded(apiKey: .describeClientQuotas, version: 1)) == raw)
    }

    @Test func describeResponseV0Bytes() throws {
        // 2048.0 is 0x40A0000000000000.
        let raw: [UInt8] = [0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1,
                            0, 0, 0, 1, 0, 4] + Self.utf8("user") + [0xFF, 0xFF,
                            0, 0, 0, 1, 0, 18] + Self.utf8("consumer_byte_rate") + [0x40, 0xA0, 0, 0, 0, 0, 0, 0]
        let response = try Self.decode(DescribeClientQuotasResponse.self, raw, .describeClientQuotas, 0)
        #expect(response == DescribeClientQuotasResponse(entries: [
            .init(entity: [Self.defaultUser], values: [.init(key: "consumer_byte_rate", value: 2048)]),
        ]))
        #expect(Self.bytes(response.encoded(apiKey: .describeClientQuotas, version: 0)) == raw)
    }

    @Test func describeErrorResponseV1HasNullEntries() throws {
        let raw: [UInt8] = [0, 0, 0, 5, 0, 42, 4] + Self.utf8("bad") + [0, 0]
        let response = try Self.decode(DescribeClientQuotasResponse.self, raw, .describeClientQuotas, 1)
        #expect(response == DescribeClientQuotasResponse(throttleTimeMs: 5, errorCode: .invalidRequest, errorMessage: "bad", entries: nil))
        #expect(Self.bytes(response.encoded(apiKey: .describeClientQuotas, version: 1)) == raw)
    }

    @Test func alterRequestV1Bytes() throws {
        // 1024.0 is 0x4090000000000000.
        let raw: [UInt8] = [2, 2, 10] + Self.utf8("client-id") + [2] + Self.utf8("A") + [0,
                            2, 19] + Self.utf8("producer_byte_rate") + [0x40, 0x90, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0]
        let request = try Self.decode(AlterClientQuotasRequest.self, raw, .alterClientQuotas, 1)
        #expect(request == AlterClientQuotasRequest(entries: [
            .init(entity: [Self.clientA], ops: [.init(key: "producer_byte_rate", value: 1024)]),
        ]))
        #expect(Self.bytes(request.encoded(apiKey: .alterClientQuotas, version: 1)) == raw)
    }

    @Test func alterResponseV0Bytes() throws {
        let raw: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1, 0, 42, 0, 3] + Self.utf8("why") + [0, 0, 0, 1, 0, 9] + Self.utf8("client-id")
            + [0, 1] + Self.utf8("A")
        let response = try Self.decode(AlterClientQuotasResponse.self, raw, .alterClientQuotas, 0)
        #expect(response == AlterClientQuotasResponse(entries: [.init(errorCode: .invalidRequest, errorMessage: "why", entity: [Self.clientA])]))
        #expect(Self.bytes(response.encoded(apiKey: .alterClientQuotas, version: 0)) == raw)
    }

    @Test(arguments: Int16(0)...1)
    func roundTrips(version: Int16) throws {
        try Self.roundTrip(DescribeClientQuotasRequest(components: [
            .init(entityType: "user", matchType: 2), .init(entityType: "client-id", matchType: 0, match: "x"),
        ], strict: true), .describeClientQuotas, version)
        try Self.roundTrip(DescribeClientQuotasResponse(throttleTimeMs: 3, entries: [
            .init(entity: [Self.defaultUser, Self.clientA], values: [.init(key: "request_percentage", value: 12.5),
                                                                     .init(key: "producer_byte_rate", value: 1e9)]),
            .init(entity: [], values: []),
        ]), .describeClientQuotas, version)
        try Self.roundTrip(AlterClientQuotasRequest(entries: [
            .init(entity: [Self.clientA], ops: [.init(key: "consumer_byte_rate", value: 0, remove: true)]),
        ], validateOnly: true), .alterClientQuotas, version)
        try Self.roundTrip(AlterClientQuotasResponse(throttleTimeMs: 1, entries: [.init(entity: [Self.defaultUser])]),
                           .alterClientQuotas, version)
    }

    @Test func hostileCountsThrowWithoutAllocating() {
        let raw: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF, 1]
        #expect(throws: ProtocolError.self) { try Self.decode(DescribeClientQuotasRequest.self, raw, .describeClientQuotas, 0) }
        #expect(throws: ProtocolError.self) { try Self.decode(AlterClientQuotasRequest.self, raw, .alterClientQuotas, 0) }
    }

    /// Found by the libFuzzer target (CI, 2026-11-30): an AlterClientQuotas v0 op whose value bytes
    /// are all 0xFF (a NaN) decoded to a request unequal to itself, so decode(encode(x)) != x.
    /// Quota values compare by bit pattern; the broker still refuses NaN (`ClientQuotas.validate`).
    @Test func nanValuesRoundTripByBits() throws {
        let raw: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 9] + Self.utf8("client-id") + [0, 1] + Self.utf8("a")
            + [0, 0, 0, 1, 0, 18] + Self.utf8("producer_byte_rate") + [UInt8](repeating: 0xFF, count: 8) + [0, 0]
        let request = try Self.decode(AlterClientQuotasRequest.self, raw, .alterClientQuotas, 0)
        #expect(request.entries.first?.ops.first?.value.isNaN == true)
        let again = try Self.decode(AlterClientQuotasRequest.self, Self.bytes(request.encoded(apiKey: .alterClientQuotas, version: 0)),
                                    .alterClientQuotas, 0)
        #expect(again == request)
        #expect(Self.bytes(again.encoded(apiKey: .alterClientQuotas, version: 0)) == raw)
        let nan = DescribeClientQuotasResponse.Value(key: "k", value: .nan)
        #expect(nan == DescribeClientQuotasResponse.Value(key: "k", value: .nan))
        #expect(DescribeClientQuotasResponse.Value(key: "k", value: 0.0) != DescribeClientQuotasResponse.Value(key: "k", value: -0.0))
    }
}

import KafkaProtocol
import NIOCore
import Testing

/// SaslHandshake (17), SaslAuthenticate (36), DescribeUserScramCredentials (50) and
/// AlterUserScramCredentials (51): bytes worked out by hand from Kafka's message JSON, and round
/// trips for every version.
@Suite struct SaslCodecTests {
    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    private static func roundTrip<M: KafkaMessage & Equatable>(_ value: M, _ apiKey: ApiKey, _ version: Int16,
                                                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let encoded = value.encoded(apiKey: apiKey, version: version)
        var reader = KafkaReader(encoded, flexible: apiKey.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        #expect(decoded == value, "\(M.self) v\(version) decoded differently", sourceLocation: sourceLocation)
    }

    @Test func saslHandshakeBytes() throws {
        // Never flexible: int16-length string; the response is error code + int32-count string array.
        let request = SaslHandshakeRequest(mechanism: "PLAIN")
        for version: Int16 in [0, 1] {
            #expect(Self.bytes(request.encoded(apiKey: .saslHandshake, version: version)) == [0x00, 0x05] + Array("PLAIN".utf8))
            try Self.roundTrip(request, .saslHandshake, version)
        }
        let response = SaslHandshakeResponse(errorCode: .unsupportedSaslMechanism, mechanisms: ["PLAIN", "SCRAM-SHA-512"])
        #expect(Self.bytes(response.encoded(apiKey: .saslHandshake, version: 1)) ==
                [0x00, 0x21, 0x00, 0x00, 0x00, 0x02, 0x00, 0x05] + Array("PLAIN".utf8) + [0x00, 0x0D] + Array("SCRAM-SHA-512".utf8))
        try Self.roundTrip(response, .saslHandshake, 1)
    }

    @Test func saslAuthenticateRequestBytes() throws {
        let request = SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: [0x00, 0x61, 0x00, 0x62]))
        // v0-1: int32-length bytes.
        #expect(Self.bytes(request.encoded(apiKey: .saslAuthenticate, version: 0)) == [0x00, 0x00, 0x00, 0x04, 0x00, 0x61, 0x00, 0x62])
        // v2: compact bytes (length + 1) and an empty tag buffer.
        #expect(Self.bytes(request.encoded(apiKey: .saslAuthenticate, version: 2)) == [0x05, 0x00, 0x61, 0x00, 0x62, 0x00])
        for version: Int16 in 0...2 { try Self.roundTrip(request, .saslAuthenticate, version) }
    }

    @Test func saslAuthenticateResponseBytes() throws {
        let failed = SaslAuthenticateResponse(errorCode: .saslAuthenticationFailed, errorMessage: "no")
        // v0: error, nullable string, bytes; no session lifetime.
        #expect(Self.bytes(failed.encoded(apiKey: .saslAuthenticate, version: 0)) ==
                [0x00, 0x3A, 0x00, 0x02, 0x6E, 0x6F, 0x00, 0x00, 0x00, 0x00])
        // v1 adds session_lifetime_ms (int64).
        let ok = SaslAuthenticateResponse(authBytes: ByteBuffer(bytes: [0x76]), sessionLifetimeMs: 0)
        #expect(Self.bytes(ok.encoded(apiKey: .saslAuthenticate, version: 1)) ==
                [0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x76] + [UInt8](repeating: 0, count: 8))
        // v2: compact nullable string (0 = null), compact bytes, tags.
        #expect(Self.bytes(ok.encoded(apiKey: .saslAuthenticate, version: 2)) ==
                [0x00, 0x00, 0x00, 0x02, 0x76] + [UInt8](repeating: 0, count: 8) + [0x00])
        for version: Int16 in 0...2 {
            try Self.roundTrip(ok, .saslAuthenticate, version)
            try Self.roundTrip(failed, .saslAuthenticate, version)
        }
    }

    @Test func describeUserScramCredentialsBytes() throws {
        let all = DescribeUserScramCredentialsRequest(users: nil)
        #expect(Self.bytes(all.encoded(apiKey: .describeUserScramCredentials, version: 0)) == [0x00, 0x00])
        let one = DescribeUserScramCredentialsRequest(users: ["al"])
        #expect(Self.bytes(one.encoded(apiKey: .describeUserScramCredentials, version: 0)) == [0x02, 0x03, 0x61, 0x6C, 0x00, 0x00])
        try Self.roundTrip(one, .describeUserScramCredentials, 0)
        try Self.roundTrip(all, .describeUserScramCredentials, 0)

        let response = DescribeUserScramCredentialsResponse(results: [
            .init(user: "al", credentialInfos: [.init(mechanism: .scramSHA512, iterations: 4096)]),
            .init(user: "x", errorCode: .resourceNotFound, errorMessage: "m"),
        ])
        #expect(Self.bytes(response.encoded(apiKey: .describeUserScramCredentials, version: 0)) == [
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms
            0x00, 0x00, 0x00,                   // error_code, error_message null
            0x03,                               // 2 results
            0x03, 0x61, 0x6C, 0x00, 0x00, 0x00, // "al", NONE, null message
            0x02, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00, // 1 info: SCRAM-SHA-512, 4096, tags
            0x00,                               // result tags
            0x02, 0x78, 0x00, 0x5B, 0x02, 0x6D, 0x01, 0x00, // "x", RESOURCE_NOT_FOUND (91), "m", no infos, tags
            0x00,                               // response tags
        ])
        try Self.roundTrip(response, .describeUserScramCredentials, 0)
    }

    @Test func alterUserScramCredentialsBytes() throws {
        let request = AlterUserScramCredentialsRequest(
            deletions: [.init(name: "a", mechanism: .scramSHA256)],
            upsertions: [.init(name: "b", mechanism: .scramSHA512, iterations: 8192,
                               salt: ByteBuffer(bytes: [1, 2]), saltedPassword: ByteBuffer(bytes: [3]))])
        #expect(Self.bytes(request.encoded(apiKey: .alterUserScramCredentials, version: 0)) == [
            0x02, 0x02, 0x61, 0x01, 0x00,                   // 1 deletion: "a", SCRAM-SHA-256, tags
            0x02, 0x02, 0x62, 0x02, 0x00, 0x00, 0x20, 0x00, // 1 upsertion: "b", SCRAM-SHA-512, 8192
            0x03, 0x01, 0x02, 0x02, 0x03, 0x00,             // salt, salted_password, tags
            0x00,                                           // request tags
        ])
        try Self.roundTrip(request, .alterUserScramCredentials, 0)
        let response = AlterUserScramCredentialsResponse(results: [.init(user: "b", errorCode: .duplicateResource, errorMessage: nil)])
        #expect(Self.bytes(response.encoded(apiKey: .alterUserScramCredentials, version: 0)) ==
                [0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x62, 0x00, 0x5C, 0x00, 0x00, 0x00])
        try Self.roundTrip(response, .alterUserScramCredentials, 0)
    }

    @Test func scramMechanismNames() {
        #expect(ScramMechanism(mechanismName: "scram-sha-256") == .scramSHA256)
        #expect(ScramMechanism.scramSHA512.mechanismName == "SCRAM-SHA-512")
        #expect(ScramMechanism(rawValue: 9).mechanismName == nil)
        #expect(ScramMechanism(mechanismName: "PLAIN") == nil)
    }
}

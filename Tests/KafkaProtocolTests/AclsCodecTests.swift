import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// DescribeAcls (29), CreateAcls (30) and DeleteAcls (31) codecs, versions 0-3: bytes written out
/// by hand from Kafka's message JSON schemas, decoded field by field and re-encoded byte for byte.
@Suite struct AclsCodecTests {
    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
    private static func str(_ s: String) -> [UInt8] { [UInt8(0), UInt8(s.utf8.count)] + Array(s.utf8) }
    private static func compact(_ s: String) -> [UInt8] { [UInt8(s.utf8.count + 1)] + Array(s.utf8) }

    private static func decode<M: KafkaMessage>(_ type: M.Type, _ raw: [UInt8], _ apiKey: ApiKey, _ version: Int16) throws -> M {
        var reader = KafkaReader(ByteBuffer(bytes: raw), flexible: apiKey.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        return decoded
    }

    private static func roundTrip<M: KafkaMessage & Equatable>(_ value: M, _ apiKey: ApiKey, _ version: Int16,
                                                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let encoded = value.encoded(apiKey: apiKey, version: version)
        let decoded = try decode(M.self, bytes(encoded), apiKey, version)
        #expect(decoded == value, "\(M.self) v\(version)", sourceLocation: sourceLocation)
    }

    @Test func keysAndFlexibleVersions() {
        for key in [ApiKey.describeAcls, .createAcls, .deleteAcls] {
            #expect(key.firstFlexibleVersion == 2)
            #expect(key.requestHeaderVersion(1) == 1 && key.requestHeaderVersion(2) == 2)
            #expect(key.responseHeaderVersion(1) == 0 && key.responseHeaderVersion(2) == 1)
        }
        #expect(ApiKey.describeAcls.rawValue == 29 && ApiKey.createAcls.rawValue == 30 && ApiKey.deleteAcls.rawValue == 31)
        #expect([ErrorCode.topicAuthorizationFailed, .groupAuthorizationFailed, .clusterAuthorizationFailed, .securityDisabled].map(\.description)
            == ["TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED", "SECURITY_DISABLED"])
    }

    /// DescribeAcls v1 as librdkafka sends it for "every ACL": ANY resource, null name, pattern ANY,
    /// null principal and host, operation ANY, permission ANY.
    @Test func describeRequestV1AnyFilterBytes() throws {
        let raw: [UInt8] = [1, 0xFF, 0xFF, 1, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1]
        let request = try Self.decode(DescribeAclsRequest.self, raw, .describeAcls, 1)
        #expect(request.filter == AclFilterData(resourceType: 1, resourceName: nil, patternType: 1, principal: nil, host: nil,
                                                operation: 1, permissionType: 1))
        #expect(Self.bytes(request.encoded(apiKey: .describeAcls, version: 1)) == raw)
    }

    /// v0 has no pattern type: it decodes as LITERAL (3) and is not written.
    @Test func describeRequestV0HasNoPatternType() throws {
        let raw: [UInt8] = [2] + Self.str("t") + Self.str("User:a") + Self.str("*") + [3, 3]
        let request = try Self.decode(DescribeAclsRequest.self, raw, .describeAcls, 0)
        #expect(request.filter == AclFilterData(resourceType: 2, resourceName: "t", patternType: 3, principal: "User:a", host: "*",
                                                operation: 3, permissionType: 3))
        #expect(Self.bytes(request.encoded(apiKey: .describeAcls, version: 0)) == raw)
    }

    /// v2 is flexible: compact strings, null as 0, one tag buffer at the end.
    @Test func describeRequestV2FlexibleBytes() throws {
        let raw: [UInt8] = [2] + Self.compact("t") + [4, 0] + Self.compact("*") + [8, 3, 0]
        let request = try Self.decode(DescribeAclsRequest.self, raw, .describeAcls, 2)
        #expect(request.filter == AclFilterData(resourceType: 2, resourceName: "t", patternType: 4, principal: nil, host: "*",
                                                operation: 8, permissionType: 3))
        #expect(Self.bytes(request.encoded(apiKey: .describeAcls, version: 2)) == raw)
    }

    @Test func describeResponseV1Bytes() throws {
        let response = DescribeAclsResponse(resources: [
            .init(resourceType: 2, resourceName: "orders", patternType: 4, acls: [
                .init(principal: "User:alice", host: "*", operation: 3, permissionType: 3),
            ]),
        ])
        let expected: [UInt8] = [0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1, 2] + Self.str("orders") + [4, 0, 0, 0, 1]
            + Self.str("User:alice") + Self.str("*") + [3, 3]
        #expect(Self.bytes(response.encoded(apiKey: .describeAcls, version: 1)) == expected)
        for version: Int16 in 1...3 { try Self.roundTrip(response, .describeAcls, version) }
        var v0 = response
        v0.resources[0].patternType = 3
        try Self.roundTrip(v0, .describeAcls, 0)
    }

    @Test func createRequestV1Bytes() throws {
        let raw: [UInt8] = [0, 0, 0, 1, 3] + Self.str("g1") + [3] + Self.str("User:bob") + Self.str("10.0.0.1") + [3, 2]
        let request = try Self.decode(CreateAclsRequest.self, raw, .createAcls, 1)
        #expect(request.creations == [AclData(resourceType: 3, resourceName: "g1", patternType: 3, principal: "User:bob",
                                              host: "10.0.0.1", operation: 3, permissionType: 2)])
        #expect(Self.bytes(request.encoded(apiKey: .createAcls, version: 1)) == raw)
        for version: Int16 in 1...3 { try Self.roundTrip(request, .createAcls, version) }
    }

    @Test func createRequestV2FlexibleBytes() throws {
        let raw: [UInt8] = [2, 4] + Self.compact("kafka-cluster") + [3] + Self.compact("User:*") + Self.compact("*") + [7, 3, 0, 0]
        let request = try Self.decode(CreateAclsRequest.self, raw, .createAcls, 2)
        #expect(request.creations == [AclData(resourceType: 4, resourceName: "kafka-cluster", patternType: 3, principal: "User:*",
                                              host: "*", operation: 7, permissionType: 3)])
        #expect(Self.bytes(request.encoded(apiKey: .createAcls, version: 2)) == raw)
    }

    @Test func createResponseBytes() throws {
        let response = CreateAclsResponse(results: [.init(), .init(errorCode: .invalidRequest, errorMessage: "bad")])
        let v1: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0xFF, 0xFF, 0, 42] + Self.str("bad")
        #expect(Self.bytes(response.encoded(apiKey: .createAcls, version: 1)) == v1)
        let v2: [UInt8] = [0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 42] + Self.compact("bad") + [0, 0]
        #expect(Self.bytes(response.encoded(apiKey: .createAcls, version: 2)) == v2)
        for version: Int16 in 0...3 { try Self.roundTrip(response, .createAcls, version) }
    }

    @Test func deleteRequestAndResponse() throws {
        let raw: [UInt8] = [0, 0, 0, 1, 2] + Self.str("t") + [3, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1]
        let request = try Self.decode(DeleteAclsRequest.self, raw, .deleteAcls, 1)
        #expect(request.filters == [AclFilterData(resourceType: 2, resourceName: "t", patternType: 3, principal: nil, host: nil,
                                                  operation: 1, permissionType: 1)])
        #expect(Self.bytes(request.encoded(apiKey: .deleteAcls, version: 1)) == raw)
        for version: Int16 in 1...3 { try Self.roundTrip(request, .deleteAcls, version) }
        // v2: each filter carries its own tag buffer.
        let flexible: [UInt8] = [2, 2] + Self.compact("t") + [3, 0, 0, 1, 1, 0, 0]
        #expect(try Self.decode(DeleteAclsRequest.self, flexible, .deleteAcls, 2) == request)

        let acl = AclData(resourceType: 2, resourceName: "t", patternType: 3, principal: "User:a", host: "*", operation: 4, permissionType: 3)
        let response = DeleteAclsResponse(filterResults: [.init(matchingAcls: [.init(acl: acl)]), .init(errorCode: .invalidRequest, errorMessage: "x", matchingAcls: [])])
        let v1: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0, 0xFF, 0xFF, 2] + Self.str("t") + [3]
            + Self.str("User:a") + Self.str("*") + [4, 3, 0, 42] + Self.str("x") + [0, 0, 0, 0]
        #expect(Self.bytes(response.encoded(apiKey: .deleteAcls, version: 1)) == v1)
        for version: Int16 in 0...3 { try Self.roundTrip(response, .deleteAcls, version) }
    }

    // MARK: frames captured from real clients (Tests/Interop/capture_acl_fixtures.py)

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/acls")

    /// The captured frame's header and body, the body decoded as `M` and re-encoded to the same bytes.
    private static func captured<M: KafkaRequest & Equatable>(_ file: String, _ type: M.Type,
                                                              sourceLocation: SourceLocation = #_sourceLocation) throws -> (RequestHeader, M) {
        var frame = ByteBuffer(bytes: Array(try Data(contentsOf: fixtures.appendingPathComponent(file))))
        let header = try RequestHeader.decode(from: &frame)
        #expect(header.apiKey == M.apiKey, sourceLocation: sourceLocation)
        let body = Array(frame.readableBytesView)
        let request = try decode(M.self, body, M.apiKey, header.apiVersion)
        #expect(bytes(request.encoded(apiKey: M.apiKey, version: header.apiVersion)) == body, sourceLocation: sourceLocation)
        return (header, request)
    }

    /// Both clients asked for `User:alice ALLOW READ from * on TOPIC prefixed "fixture-"`.
    static let fixtureAcl = AclData(resourceType: 2, resourceName: "fixture-", patternType: 4, principal: "User:alice", host: "*",
                                    operation: 3, permissionType: 3)
    static let fixtureFilter = AclFilterData(resourceType: 2, resourceName: "fixture-", patternType: 4, principal: "User:alice",
                                             host: "*", operation: 3, permissionType: 3)

    @Test(arguments: [("confluent-kafka", "confluent-fixture", Int16(2)), ("kafka-python", "kafka-python-fixture", Int16(3))])
    func capturedClientFrames(client: String, clientID: String, version: Int16) throws {
        let (createHeader, create) = try Self.captured("\(client)-createacls-v\(version).bin", CreateAclsRequest.self)
        #expect(createHeader.apiVersion == version && createHeader.clientID == clientID)
        #expect(create.creations == [Self.fixtureAcl])
        let (describeHeader, describe) = try Self.captured("\(client)-describeacls-v\(version).bin", DescribeAclsRequest.self)
        #expect(describeHeader.apiVersion == version)
        #expect(describe.filter == Self.fixtureFilter)
        let (deleteHeader, delete) = try Self.captured("\(client)-deleteacls-v\(version).bin", DeleteAclsRequest.self)
        #expect(deleteHeader.apiVersion == version)
        #expect(delete.filters == [Self.fixtureFilter])
    }
}

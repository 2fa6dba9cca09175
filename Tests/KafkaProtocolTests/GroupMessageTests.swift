import KafkaProtocol
import NIOCore
import Testing

// Consumer-group API codecs (keys 8-16, 42, 47): round trips in every implemented version, with
// unknown tagged fields at every level of flexible versions, and byte vectors derived by hand from
// Kafka's message JSON schemas.

// MARK: - Helpers

private enum GroupWire {
    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    static func buf(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    /// An unknown tagged field when `flexible`, else an empty set (non-flexible versions have no tags).
    static func tags(_ flexible: Bool, _ tag: UInt32 = 9) -> TaggedFields {
        flexible ? TaggedFields([(tag: tag, value: ByteBuffer(bytes: [0xAB, 0xCD]))]) : TaggedFields()
    }

    /// Encodes, decodes (checking nothing is left over), compares, and re-encodes `value`.
    static func roundTrip<M: KafkaMessage & Equatable>(
        _ value: M, _ apiKey: ApiKey, _ version: Int16, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let encoded = value.encoded(apiKey: apiKey, version: version)
        var reader = KafkaReader(encoded, flexible: apiKey.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        #expect(decoded == value, "\(M.self) v\(version) decoded differently", sourceLocation: sourceLocation)
        #expect(bytes(decoded.encoded(apiKey: apiKey, version: version)) == bytes(encoded),
                "\(M.self) v\(version) re-encoded differently", sourceLocation: sourceLocation)
    }

    /// Checks that `value` encodes to `expected` in `version` and that `expected` decodes to `value`.
    static func vector<M: KafkaMessage & Equatable>(
        _ value: M, _ apiKey: ApiKey, _ version: Int16, _ expected: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(bytes(value.encoded(apiKey: apiKey, version: version)) == expected,
                "\(M.self) v\(version) bytes", sourceLocation: sourceLocation)
        var reader = KafkaReader(buf(expected), flexible: apiKey.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        #expect(decoded == value, "\(M.self) v\(version) decoded", sourceLocation: sourceLocation)
    }

    /// Every strict prefix of `value`'s encoding must throw ``ProtocolError``.
    static func expectTruncationThrows<M: KafkaMessage>(
        _ value: M, _ apiKey: ApiKey, _ version: Int16, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let full = bytes(value.encoded(apiKey: apiKey, version: version))
        for length in 0..<full.count {
            #expect(throws: ProtocolError.self, "\(M.self) v\(version) prefix \(length)/\(full.count)",
                    sourceLocation: sourceLocation) {
                _ = try M.decode(buf(Array(full.prefix(length))), apiKey: apiKey, version: version)
            }
        }
    }
}

// MARK: - Api keys and error codes

@Suite struct GroupApiKeyTests {
    @Test func keysNamesAndFlexibleVersions() {
        let expected: [(ApiKey, Int16, String, Int16?)] = [
            (.offsetCommit, 8, "OffsetCommit", 8), (.offsetFetch, 9, "OffsetFetch", 6),
            (.findCoordinator, 10, "FindCoordinator", 3), (.joinGroup, 11, "JoinGroup", 6),
            (.heartbeat, 12, "Heartbeat", 4), (.leaveGroup, 13, "LeaveGroup", 4),
            (.syncGroup, 14, "SyncGroup", 4), (.describeGroups, 15, "DescribeGroups", 5),
            (.listGroups, 16, "ListGroups", 3), (.deleteGroups, 42, "DeleteGroups", 2),
            (.offsetDelete, 47, "OffsetDelete", nil),
        ]
        for (key, raw, name, flexible) in expected {
            #expect(key.rawValue == raw)
            #expect(key.description == name)
            #expect(key.firstFlexibleVersion == flexible, "\(name)")
        }
        #expect(!ApiKey.offsetDelete.isFlexible(0))
        #expect(ApiKey.offsetDelete.requestHeaderVersion(0) == 1)
        #expect(ApiKey.offsetDelete.responseHeaderVersion(0) == 0)
        #expect(ApiKey.joinGroup.requestHeaderVersion(5) == 1)
        #expect(ApiKey.joinGroup.requestHeaderVersion(6) == 2)
        #expect(ApiKey.heartbeat.responseHeaderVersion(4) == 1)
    }

    @Test func requestTypesCarryTheirKeys() {
        #expect(FindCoordinatorRequest.apiKey == .findCoordinator)
        #expect(JoinGroupRequest.apiKey == .joinGroup)
        #expect(SyncGroupRequest.apiKey == .syncGroup)
        #expect(HeartbeatRequest.apiKey == .heartbeat)
        #expect(LeaveGroupRequest.apiKey == .leaveGroup)
        #expect(OffsetCommitRequest.apiKey == .offsetCommit)
        #expect(OffsetFetchRequest.apiKey == .offsetFetch)
        #expect(DescribeGroupsRequest.apiKey == .describeGroups)
        #expect(ListGroupsRequest.apiKey == .listGroups)
        #expect(DeleteGroupsRequest.apiKey == .deleteGroups)
        #expect(OffsetDeleteRequest.apiKey == .offsetDelete)
    }

    @Test func groupErrorCodes() {
        let expected: [(ErrorCode, Int16, String, Bool)] = [
            (.offsetMetadataTooLarge, 12, "OFFSET_METADATA_TOO_LARGE", false),
            (.coordinatorLoadInProgress, 14, "COORDINATOR_LOAD_IN_PROGRESS", true),
            (.coordinatorNotAvailable, 15, "COORDINATOR_NOT_AVAILABLE", true),
            (.notCoordinator, 16, "NOT_COORDINATOR", true),
            (.illegalGeneration, 22, "ILLEGAL_GENERATION", false),
            (.inconsistentGroupProtocol, 23, "INCONSISTENT_GROUP_PROTOCOL", false),
            (.invalidGroupID, 24, "INVALID_GROUP_ID", false),
            (.unknownMemberID, 25, "UNKNOWN_MEMBER_ID", false),
            (.invalidSessionTimeout, 26, "INVALID_SESSION_TIMEOUT", false),
            (.rebalanceInProgress, 27, "REBALANCE_IN_PROGRESS", false),
            (.invalidCommitOffsetSize, 28, "INVALID_COMMIT_OFFSET_SIZE", false),
            (.groupAuthorizationFailed, 30, "GROUP_AUTHORIZATION_FAILED", false),
            (.nonEmptyGroup, 68, "NON_EMPTY_GROUP", false),
            (.groupIDNotFound, 69, "GROUP_ID_NOT_FOUND", false),
            (.memberIDRequired, 79, "MEMBER_ID_REQUIRED", false),
            (.groupMaxSizeReached, 81, "GROUP_MAX_SIZE_REACHED", false),
            (.fencedInstanceID, 82, "FENCED_INSTANCE_ID", false),
            (.groupSubscribedToTopic, 86, "GROUP_SUBSCRIBED_TO_TOPIC", false),
            (.unstableOffsetCommit, 88, "UNSTABLE_OFFSET_COMMIT", true),
        ]
        for (code, raw, name, retriable) in expected {
            #expect(code.rawValue == raw)
            #expect(code.description == name)
            #expect(code.isRetriable == retriable, "\(name)")
        }
    }
}

// MARK: - FindCoordinator

@Suite struct GroupFindCoordinatorTests {
    static func request(_ v: Int16) -> FindCoordinatorRequest {
        var req = v >= 4
            ? FindCoordinatorRequest(keyType: 1, coordinatorKeys: ["tx-a", "tx-b"])
            : FindCoordinatorRequest(key: "group-a", keyType: v >= 1 ? 1 : 0)
        req.taggedFields = GroupWire.tags(ApiKey.findCoordinator.isFlexible(v), 3)
        return req
    }

    static func response(_ v: Int16) -> FindCoordinatorResponse {
        let flexible = ApiKey.findCoordinator.isFlexible(v)
        var resp: FindCoordinatorResponse
        if v >= 4 {
            var ok = FindCoordinatorResponse.Coordinator(key: "tx-a", nodeID: 2, host: "broker-2", port: 9093)
            ok.taggedFields = GroupWire.tags(flexible, 0)
            let bad = FindCoordinatorResponse.Coordinator(key: "tx-b", nodeID: -1, host: "", port: -1,
                                                          errorCode: .coordinatorNotAvailable,
                                                          errorMessage: "not yet")
            resp = FindCoordinatorResponse(throttleTimeMs: 5, coordinators: [ok, bad])
        } else {
            resp = FindCoordinatorResponse(throttleTimeMs: v >= 1 ? 5 : 0, errorCode: .coordinatorLoadInProgress,
                                           errorMessage: v >= 1 ? "loading" : nil, nodeID: 2, host: "broker-2",
                                           port: 9093)
        }
        resp.taggedFields = GroupWire.tags(flexible, 1)
        return resp
    }

    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        try GroupWire.roundTrip(Self.request(version), .findCoordinator, version)
        try GroupWire.roundTrip(Self.response(version), .findCoordinator, version)
        if (1...3).contains(version) {
            try GroupWire.roundTrip(FindCoordinatorResponse(nodeID: 1, host: "h", port: 1), .findCoordinator, version)
        }
    }

    @Test func normalisedKeys() {
        #expect(FindCoordinatorRequest(key: "g").keys(version: 3) == ["g"])
        #expect(FindCoordinatorRequest(coordinatorKeys: ["a", "b"]).keys(version: 4) == ["a", "b"])
    }

    @Test func v4RequestBytes() throws {
        let req = FindCoordinatorRequest(keyType: 0, coordinatorKeys: ["g1", "g2"])
        try GroupWire.vector(req, .findCoordinator, 4, [
            0x00,                    // key_type int8 0 (group); no `key` in v4
            0x03,                    // coordinator_keys: compact array of 2
            0x03, 0x67, 0x31,        // compact string "g1"
            0x03, 0x67, 0x32,        // compact string "g2"
            0x00,                    // top-level tags
        ])
    }

    @Test func v2ResponseBytes() throws {
        let resp = FindCoordinatorResponse(nodeID: 1, host: "h", port: 9092)
        try GroupWire.vector(resp, .findCoordinator, 2, [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0
            0x00, 0x00,              // error_code NONE
            0xFF, 0xFF,              // error_message: null (int16 -1)
            0x00, 0x00, 0x00, 0x01,  // node_id 1
            0x00, 0x01, 0x68,        // host "h"
            0x00, 0x00, 0x23, 0x84,  // port 9092
        ])
    }

    @Test func v4ResponseBytes() throws {
        let resp = FindCoordinatorResponse(coordinators: [
            .init(key: "g", nodeID: -1, host: "", port: -1, errorCode: .notCoordinator),
        ])
        try GroupWire.vector(resp, .findCoordinator, 4, [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0; no top-level error/node/host/port in v4
            0x02,                    // coordinators: compact array of 1
            0x02, 0x67,              // key "g"
            0xFF, 0xFF, 0xFF, 0xFF,  // node_id -1
            0x01,                    // host "" (compact length 0 + 1)
            0xFF, 0xFF, 0xFF, 0xFF,  // port -1
            0x00, 0x10,              // error_code NOT_COORDINATOR (after the port here)
            0x00,                    // error_message: compact null
            0x00,                    // coordinator tags
            0x00,                    // top-level tags
        ])
    }
}

// MARK: - JoinGroup

@Suite struct GroupJoinGroupTests {
    static func request(_ v: Int16) -> JoinGroupRequest {
        let flexible = ApiKey.joinGroup.isFlexible(v)
        var range = JoinGroupRequest.SupportedProtocol(name: "range", metadata: GroupWire.buf([0, 1, 2, 3]))
        range.taggedFields = GroupWire.tags(flexible, 2)
        var req = JoinGroupRequest(groupID: "group-a", sessionTimeoutMs: 45_000,
                                   rebalanceTimeoutMs: v >= 1 ? 300_000 : -1,
                                   memberID: v >= 4 ? "member-1" : "",
                                   groupInstanceID: v >= 5 ? "instance-1" : nil, protocolType: "consumer",
                                   protocols: [range, .init(name: "cooperative-sticky", metadata: ByteBuffer())])
        req.taggedFields = GroupWire.tags(flexible, 4)
        return req
    }

    static func response(_ v: Int16) -> JoinGroupResponse {
        let flexible = ApiKey.joinGroup.isFlexible(v)
        var leader = JoinGroupResponse.Member(memberID: "member-1", groupInstanceID: v >= 5 ? "instance-1" : nil,
                                              metadata: GroupWire.buf([9, 8, 7]))
        leader.taggedFields = GroupWire.tags(flexible, 1)
        let follower = JoinGroupResponse.Member(memberID: "member-2", metadata: ByteBuffer())
        var resp = JoinGroupResponse(throttleTimeMs: v >= 2 ? 12 : 0, generationID: 3,
                                     protocolType: v >= 7 ? "consumer" : nil, protocolName: "range",
                                     leader: "member-1", memberID: "member-1", members: [leader, follower])
        resp.taggedFields = GroupWire.tags(flexible, 0)
        return resp
    }

    @Test(arguments: Int16(0)...7)
    func roundTrips(version: Int16) throws {
        try GroupWire.roundTrip(Self.request(version), .joinGroup, version)
        try GroupWire.roundTrip(Self.response(version), .joinGroup, version)
        // An error answer: no protocol chosen (null name from v7, "" before).
        let error = JoinGroupResponse(errorCode: .memberIDRequired, protocolName: version >= 7 ? nil : "",
                                      leader: "", memberID: "new-member")
        try GroupWire.roundTrip(error, .joinGroup, version)
    }

    @Test func v5RequestBytes() throws {
        let req = JoinGroupRequest(groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 300_000,
                                   groupInstanceID: "i", protocolType: "consumer",
                                   protocols: [.init(name: "range", metadata: GroupWire.buf([0x01, 0x02]))])
        try GroupWire.vector(req, .joinGroup, 5, [
            0x00, 0x01, 0x67,                                      // group_id "g"
            0x00, 0x00, 0x27, 0x10,                                // session_timeout_ms 10000
            0x00, 0x04, 0x93, 0xE0,                                // rebalance_timeout_ms 300000
            0x00, 0x00,                                            // member_id ""
            0x00, 0x01, 0x69,                                      // group_instance_id "i"
            0x00, 0x08, 0x63, 0x6F, 0x6E, 0x73, 0x75, 0x6D, 0x65, 0x72,  // protocol_type "consumer"
            0x00, 0x00, 0x00, 0x01,                                // protocols: array of 1
            0x00, 0x05, 0x72, 0x61, 0x6E, 0x67, 0x65,              // name "range"
            0x00, 0x00, 0x00, 0x02, 0x01, 0x02,                    // metadata: int32 length 2, bytes
        ])
    }

    @Test func v6FlexibleRequestBytes() throws {
        let req = JoinGroupRequest(groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 300_000,
                                   memberID: "m", groupInstanceID: nil, protocolType: "consumer",
                                   protocols: [.init(name: "range", metadata: GroupWire.buf([0x01, 0x02]))])
        try GroupWire.vector(req, .joinGroup, 6, [
            0x02, 0x67,                                            // group_id: compact "g"
            0x00, 0x00, 0x27, 0x10,                                // session_timeout_ms 10000
            0x00, 0x04, 0x93, 0xE0,                                // rebalance_timeout_ms 300000
            0x02, 0x6D,                                            // member_id: compact "m"
            0x00,                                                  // group_instance_id: compact null
            0x09, 0x63, 0x6F, 0x6E, 0x73, 0x75, 0x6D, 0x65, 0x72,  // protocol_type: compact "consumer"
            0x02,                                                  // protocols: compact array of 1
            0x06, 0x72, 0x61, 0x6E, 0x67, 0x65,                    // name: compact "range"
            0x03, 0x01, 0x02,                                      // metadata: compact bytes (2 + 1)
            0x00,                                                  // protocol tags
            0x00,                                                  // top-level tags
        ])
    }

    @Test func nullProtocolNameBeforeV7IsRejected() {
        // throttle, error, generation, protocol_name = null (int16 -1), leader "", member_id "", members []
        let body: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: ProtocolError.self) {
            try JoinGroupResponse.decode(GroupWire.buf(body), apiKey: .joinGroup, version: 5)
        }
    }
}

// MARK: - SyncGroup

@Suite struct GroupSyncGroupTests {
    static func request(_ v: Int16) -> SyncGroupRequest {
        let flexible = ApiKey.syncGroup.isFlexible(v)
        var a = SyncGroupRequest.Assignment(memberID: "member-1", assignment: GroupWire.buf([1, 2, 3]))
        a.taggedFields = GroupWire.tags(flexible, 7)
        var req = SyncGroupRequest(groupID: "group-a", generationID: 3, memberID: "member-1",
                                   groupInstanceID: v >= 3 ? "instance-1" : nil,
                                   protocolType: v >= 5 ? "consumer" : nil, protocolName: v >= 5 ? "range" : nil,
                                   assignments: [a, .init(memberID: "member-2", assignment: ByteBuffer())])
        req.taggedFields = GroupWire.tags(flexible, 0)
        return req
    }

    static func response(_ v: Int16) -> SyncGroupResponse {
        var resp = SyncGroupResponse(throttleTimeMs: v >= 1 ? 3 : 0, protocolType: v >= 5 ? "consumer" : nil,
                                     protocolName: v >= 5 ? "range" : nil, assignment: GroupWire.buf([4, 5]))
        resp.taggedFields = GroupWire.tags(ApiKey.syncGroup.isFlexible(v), 2)
        return resp
    }

    @Test(arguments: Int16(0)...5)
    func roundTrips(version: Int16) throws {
        try GroupWire.roundTrip(Self.request(version), .syncGroup, version)
        try GroupWire.roundTrip(Self.response(version), .syncGroup, version)
        try GroupWire.roundTrip(SyncGroupResponse(errorCode: .rebalanceInProgress), .syncGroup, version)
    }

    @Test func v3ResponseBytes() throws {
        let resp = SyncGroupResponse(throttleTimeMs: 100, assignment: GroupWire.buf([0xAA, 0xBB]))
        try GroupWire.vector(resp, .syncGroup, 3, [
            0x00, 0x00, 0x00, 0x64,  // throttle_time_ms 100
            0x00, 0x00,              // error_code NONE
            0x00, 0x00, 0x00, 0x02,  // assignment: int32 length 2
            0xAA, 0xBB,              // assignment bytes
        ])
    }
}

// MARK: - Heartbeat

@Suite struct GroupHeartbeatTests {
    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        let flexible = ApiKey.heartbeat.isFlexible(version)
        var req = HeartbeatRequest(groupID: "group-a", generationID: 7, memberID: "member-1",
                                   groupInstanceID: version >= 3 ? "instance-1" : nil)
        req.taggedFields = GroupWire.tags(flexible, 1)
        try GroupWire.roundTrip(req, .heartbeat, version)
        var resp = HeartbeatResponse(throttleTimeMs: version >= 1 ? 2 : 0, errorCode: .rebalanceInProgress)
        resp.taggedFields = GroupWire.tags(flexible, 3)
        try GroupWire.roundTrip(resp, .heartbeat, version)
    }

    @Test func v4RequestBytes() throws {
        let req = HeartbeatRequest(groupID: "g", generationID: 2, memberID: "m", groupInstanceID: "i")
        try GroupWire.vector(req, .heartbeat, 4, [
            0x02, 0x67,              // group_id: compact "g"
            0x00, 0x00, 0x00, 0x02,  // generation_id 2
            0x02, 0x6D,              // member_id: compact "m"
            0x02, 0x69,              // group_instance_id: compact "i"
            0x00,                    // top-level tags
        ])
    }

    @Test func v0ResponseBytes() throws {
        try GroupWire.vector(HeartbeatResponse(errorCode: .illegalGeneration), .heartbeat, 0, [
            0x00, 0x16,              // error_code ILLEGAL_GENERATION; no throttle_time_ms in v0
        ])
    }
}

// MARK: - LeaveGroup

@Suite struct GroupLeaveGroupTests {
    static func request(_ v: Int16) -> LeaveGroupRequest {
        let flexible = ApiKey.leaveGroup.isFlexible(v)
        var req: LeaveGroupRequest
        if v >= 3 {
            var m = LeaveGroupRequest.Member(memberID: "member-1")
            m.taggedFields = GroupWire.tags(flexible, 5)
            req = LeaveGroupRequest(groupID: "group-a", members: [m, .init(memberID: "", groupInstanceID: "instance-2")])
        } else {
            req = LeaveGroupRequest(groupID: "group-a", memberID: "member-1")
        }
        req.taggedFields = GroupWire.tags(flexible, 0)
        return req
    }

    static func response(_ v: Int16) -> LeaveGroupResponse {
        let flexible = ApiKey.leaveGroup.isFlexible(v)
        var resp: LeaveGroupResponse
        if v >= 3 {
            var ok = LeaveGroupResponse.Member(memberID: "member-1")
            ok.taggedFields = GroupWire.tags(flexible, 1)
            let unknown = LeaveGroupResponse.Member(memberID: "", groupInstanceID: "instance-2",
                                                    errorCode: .unknownMemberID)
            resp = LeaveGroupResponse(throttleTimeMs: 4, members: [ok, unknown])
        } else {
            resp = LeaveGroupResponse(throttleTimeMs: v >= 1 ? 4 : 0, errorCode: .unknownMemberID)
        }
        resp.taggedFields = GroupWire.tags(flexible, 2)
        return resp
    }

    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        try GroupWire.roundTrip(Self.request(version), .leaveGroup, version)
        try GroupWire.roundTrip(Self.response(version), .leaveGroup, version)
    }

    @Test func normalisedMembers() {
        #expect(LeaveGroupRequest(groupID: "g", memberID: "m").leavingMembers(version: 2) == [.init(memberID: "m")])
        let batch = [LeaveGroupRequest.Member(memberID: "a"), .init(memberID: "", groupInstanceID: "i")]
        #expect(LeaveGroupRequest(groupID: "g", members: batch).leavingMembers(version: 3) == batch)
    }

    @Test func v3RequestBytes() throws {
        let req = LeaveGroupRequest(groupID: "g", members: [.init(memberID: "m1"),
                                                            .init(memberID: "", groupInstanceID: "i1")])
        try GroupWire.vector(req, .leaveGroup, 3, [
            0x00, 0x01, 0x67,        // group_id "g"; no member_id in v3
            0x00, 0x00, 0x00, 0x02,  // members: array of 2
            0x00, 0x02, 0x6D, 0x31,  //   member_id "m1"
            0xFF, 0xFF,              //   group_instance_id null
            0x00, 0x00,              //   member_id ""
            0x00, 0x02, 0x69, 0x31,  //   group_instance_id "i1"
        ])
    }
}

// MARK: - OffsetCommit

@Suite struct GroupOffsetCommitTests {
    static func request(_ v: Int16) -> OffsetCommitRequest {
        let flexible = ApiKey.offsetCommit.isFlexible(v)
        var p0 = OffsetCommitRequest.Partition(partitionIndex: 0, committedOffset: 1234,
                                               committedLeaderEpoch: v >= 6 ? 5 : -1,
                                               commitTimestamp: v == 1 ? 1_700_000_000_000 : -1,
                                               committedMetadata: "meta")
        p0.taggedFields = GroupWire.tags(flexible, 3)
        let p1 = OffsetCommitRequest.Partition(partitionIndex: 2, committedOffset: 0)
        var t = OffsetCommitRequest.Topic(name: "orders", partitions: [p0, p1])
        t.taggedFields = GroupWire.tags(flexible, 4)
        var req = OffsetCommitRequest(groupID: "group-a", generationIDOrMemberEpoch: v >= 1 ? 3 : -1,
                                      memberID: v >= 1 ? "member-1" : "",
                                      groupInstanceID: v >= 7 ? "instance-1" : nil,
                                      retentionTimeMs: (2...4).contains(v) ? 86_400_000 : -1,
                                      topics: [t, .init(name: "empty", partitions: [])])
        req.taggedFields = GroupWire.tags(flexible, 0)
        return req
    }

    static func response(_ v: Int16) -> OffsetCommitResponse {
        let flexible = ApiKey.offsetCommit.isFlexible(v)
        var p = OffsetCommitResponse.Partition(partitionIndex: 0)
        p.taggedFields = GroupWire.tags(flexible, 1)
        var t = OffsetCommitResponse.Topic(name: "orders",
                                           partitions: [p, .init(partitionIndex: 2, errorCode: .offsetMetadataTooLarge)])
        t.taggedFields = GroupWire.tags(flexible, 2)
        var resp = OffsetCommitResponse(throttleTimeMs: v >= 3 ? 8 : 0, topics: [t])
        resp.taggedFields = GroupWire.tags(flexible, 3)
        return resp
    }

    @Test(arguments: Int16(0)...8)
    func roundTrips(version: Int16) throws {
        try GroupWire.roundTrip(Self.request(version), .offsetCommit, version)
        try GroupWire.roundTrip(Self.response(version), .offsetCommit, version)
    }

    @Test func v7RequestBytes() throws {
        let req = OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: 5, memberID: "m", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 100, committedLeaderEpoch: 3)]),
        ])
        try GroupWire.vector(req, .offsetCommit, 7, [
            0x00, 0x01, 0x67,                                // group_id "g"
            0x00, 0x00, 0x00, 0x05,                          // generation_id_or_member_epoch 5
            0x00, 0x01, 0x6D,                                // member_id "m"
            0xFF, 0xFF,                                      // group_instance_id null; no retention_time_ms (v2-4)
            0x00, 0x00, 0x00, 0x01,                          // topics: array of 1
            0x00, 0x01, 0x74,                                //   name "t"
            0x00, 0x00, 0x00, 0x01,                          //   partitions: array of 1
            0x00, 0x00, 0x00, 0x00,                          //     partition_index 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset 100
            0x00, 0x00, 0x00, 0x03,                          //     committed_leader_epoch 3
            0xFF, 0xFF,                                      //     committed_metadata null
        ])
    }

    @Test func v8FlexibleRequestBytes() throws {
        let req = OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: 5, memberID: "m",
                                      groupInstanceID: "i", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 1, committedOffset: 100, committedMetadata: "")]),
        ])
        try GroupWire.vector(req, .offsetCommit, 8, [
            0x02, 0x67,                                      // group_id: compact "g"
            0x00, 0x00, 0x00, 0x05,                          // generation_id_or_member_epoch 5
            0x02, 0x6D,                                      // member_id: compact "m"
            0x02, 0x69,                                      // group_instance_id: compact "i"
            0x02,                                            // topics: compact array of 1
            0x02, 0x74,                                      //   name: compact "t"
            0x02,                                            //   partitions: compact array of 1
            0x00, 0x00, 0x00, 0x01,                          //     partition_index 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset 100
            0xFF, 0xFF, 0xFF, 0xFF,                          //     committed_leader_epoch -1
            0x01,                                            //     committed_metadata: compact ""
            0x00,                                            //     partition tags
            0x00,                                            //   topic tags
            0x00,                                            // top-level tags
        ])
    }

    @Test func v2RetentionAndV1TimestampBytes() {
        let v2 = OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: 1, memberID: "", retentionTimeMs: 1000,
                                     topics: [])
        #expect(GroupWire.bytes(v2.encoded(apiKey: .offsetCommit, version: 2)) == [
            0x00, 0x01, 0x67, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,  // group_id, generation 1, member_id ""
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,        // retention_time_ms 1000
            0x00, 0x00, 0x00, 0x00,                                // topics: empty
        ])
        // v5 drops retention time.
        #expect(v2.encoded(apiKey: .offsetCommit, version: 5).readableBytes == 13)
    }
}

// MARK: - OffsetFetch

@Suite struct GroupOffsetFetchTests {
    static func request(_ v: Int16, allTopics: Bool = false) -> OffsetFetchRequest {
        let flexible = ApiKey.offsetFetch.isFlexible(v)
        var t = OffsetFetchRequest.Topic(name: "orders", partitionIndexes: [0, 1, 2])
        t.taggedFields = GroupWire.tags(flexible, 6)
        let topics: [OffsetFetchRequest.Topic]? = allTopics ? nil : [t, .init(name: "audit", partitionIndexes: [])]
        var req: OffsetFetchRequest
        if v >= 8 {
            var g = OffsetFetchRequest.Group(groupID: "group-a", topics: topics)
            g.taggedFields = GroupWire.tags(flexible, 1)
            req = OffsetFetchRequest(groups: [g, .init(groupID: "group-b", topics: nil)], requireStable: true)
        } else {
            req = OffsetFetchRequest(groupID: "group-a", topics: topics, requireStable: v >= 7)
        }
        req.taggedFields = GroupWire.tags(flexible, 2)
        return req
    }

    static func response(_ v: Int16) -> OffsetFetchResponse {
        let flexible = ApiKey.offsetFetch.isFlexible(v)
        var p0 = OffsetFetchResponse.Partition(partitionIndex: 0, committedOffset: 99,
                                               committedLeaderEpoch: v >= 5 ? 4 : -1, metadata: "m")
        p0.taggedFields = GroupWire.tags(flexible, 0)
        let p1 = OffsetFetchResponse.Partition(partitionIndex: 1, errorCode: v >= 7 ? .unstableOffsetCommit : .none)
        var t = OffsetFetchResponse.Topic(name: "orders", partitions: [p0, p1])
        t.taggedFields = GroupWire.tags(flexible, 1)
        var resp: OffsetFetchResponse
        if v >= 8 {
            var g = OffsetFetchResponse.Group(groupID: "group-a", topics: [t])
            g.taggedFields = GroupWire.tags(flexible, 2)
            resp = OffsetFetchResponse(throttleTimeMs: 6, groups: [
                g, .init(groupID: "group-b", topics: [], errorCode: .groupAuthorizationFailed),
            ])
        } else {
            resp = OffsetFetchResponse(throttleTimeMs: v >= 3 ? 6 : 0, topics: [t],
                                       errorCode: v >= 2 ? .coordinatorLoadInProgress : .none)
        }
        resp.taggedFields = GroupWire.tags(flexible, 3)
        return resp
    }

    @Test(arguments: Int16(0)...8)
    func roundTrips(version: Int16) throws {
        try GroupWire.roundTrip(Self.request(version), .offsetFetch, version)
        if version >= 2 { try GroupWire.roundTrip(Self.request(version, allTopics: true), .offsetFetch, version) }
        try GroupWire.roundTrip(Self.response(version), .offsetFetch, version)
    }

    @Test func nullTopicsBeforeV2IsAnEmptyArray() {
        let req = OffsetFetchRequest(groupID: "g", topics: nil)
        #expect(GroupWire.bytes(req.encoded(apiKey: .offsetFetch, version: 1)) == [0x00, 0x01, 0x67, 0, 0, 0, 0])
        #expect(GroupWire.bytes(req.encoded(apiKey: .offsetFetch, version: 2)) == [0x00, 0x01, 0x67, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test func normalisedGroups() {
        let single = OffsetFetchRequest(groupID: "g", topics: nil)
        #expect(single.requestedGroups(version: 7) == [.init(groupID: "g", topics: nil)])
        let multi = OffsetFetchRequest(groups: [.init(groupID: "a", topics: []), .init(groupID: "b", topics: nil)])
        #expect(multi.requestedGroups(version: 8) == multi.groups)
    }

    @Test func v8RequestBytes() throws {
        let req = OffsetFetchRequest(groups: [
            .init(groupID: "g1", topics: [.init(name: "t", partitionIndexes: [0, 1])]),
            .init(groupID: "g2", topics: nil),
        ], requireStable: true)
        try GroupWire.vector(req, .offsetFetch, 8, [
            0x03,                    // groups: compact array of 2; no group_id / topics at top level
            0x03, 0x67, 0x31,        //   group_id: compact "g1"
            0x02,                    //   topics: compact array of 1
            0x02, 0x74,              //     name: compact "t"
            0x03,                    //     partition_indexes: compact array of 2
            0x00, 0x00, 0x00, 0x00,  //       0
            0x00, 0x00, 0x00, 0x01,  //       1
            0x00,                    //     topic tags
            0x00,                    //   group tags
            0x03, 0x67, 0x32,        //   group_id: compact "g2"
            0x00,                    //   topics: compact null (all topics)
            0x00,                    //   group tags
            0x01,                    // require_stable true
            0x00,                    // top-level tags
        ])
    }

    @Test func v8ResponseBytes() throws {
        let resp = OffsetFetchResponse(groups: [
            .init(groupID: "g1", topics: [.init(name: "t", partitions: [
                .init(partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 7, metadata: nil),
                .init(partitionIndex: 1, committedOffset: -1, metadata: "", errorCode: .unstableOffsetCommit),
            ])]),
            .init(groupID: "g2", topics: [], errorCode: .groupAuthorizationFailed),
        ])
        try GroupWire.vector(resp, .offsetFetch, 8, [
            0x00, 0x00, 0x00, 0x00,                          // throttle_time_ms 0; no topics / error_code at top
            0x03,                                            // groups: compact array of 2
            0x03, 0x67, 0x31,                                //   group_id: compact "g1"
            0x02,                                            //   topics: compact array of 1
            0x02, 0x74,                                      //     name: compact "t"
            0x03,                                            //     partitions: compact array of 2
            0x00, 0x00, 0x00, 0x00,                          //       partition_index 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A,  //       committed_offset 42
            0x00, 0x00, 0x00, 0x07,                          //       committed_leader_epoch 7
            0x00,                                            //       metadata: compact null
            0x00, 0x00,                                      //       error_code NONE
            0x00,                                            //       partition tags
            0x00, 0x00, 0x00, 0x01,                          //       partition_index 1
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  //       committed_offset -1
            0xFF, 0xFF, 0xFF, 0xFF,                          //       committed_leader_epoch -1
            0x01,                                            //       metadata: compact ""
            0x00, 0x58,                                      //       error_code UNSTABLE_OFFSET_COMMIT (88)
            0x00,                                            //       partition tags
            0x00,                                            //     topic tags
            0x00, 0x00,                                      //   group error_code NONE (after topics)
            0x00,                                            //   group tags
            0x03, 0x67, 0x32,                                //   group_id: compact "g2"
            0x01,                                            //   topics: compact array of 0
            0x00, 0x1E,                                      //   group error_code GROUP_AUTHORIZATION_FAILED (30)
            0x00,                                            //   group tags
            0x00,                                            // top-level tags
        ])
    }

    @Test func v1ResponseBytes() throws {
        let resp = OffsetFetchResponse(topics: [.init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 1)])])
        try GroupWire.vector(resp, .offsetFetch, 1, [
            0x00, 0x00, 0x00, 0x01,                          // topics: array of 1 (no throttle before v3)
            0x00, 0x01, 0x74,                                //   name "t"
            0x00, 0x00, 0x00, 0x01,                          //   partitions: array of 1
            0x00, 0x00, 0x00, 0x00,                          //     partition_index 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  //     committed_offset 1 (no epoch before v5)
            0xFF, 0xFF,                                      //     metadata null
            0x00, 0x00,                                      //     error_code NONE (no top-level error before v2)
        ])
    }
}

// MARK: - DescribeGroups

@Suite struct GroupDescribeGroupsTests {
    static func response(_ v: Int16) -> DescribeGroupsResponse {
        let flexible = ApiKey.describeGroups.isFlexible(v)
        var m = DescribeGroupsResponse.Member(memberID: "member-1", groupInstanceID: v >= 4 ? "instance-1" : nil,
                                              clientID: "client-1", clientHost: "/10.0.0.1",
                                              memberMetadata: GroupWire.buf([1, 2]),
                                              memberAssignment: GroupWire.buf([3, 4, 5]))
        m.taggedFields = GroupWire.tags(flexible, 0)
        var g = DescribeGroupsResponse.Group(groupID: "group-a", groupState: "Stable", protocolType: "consumer",
                                             protocolData: "range",
                                             members: [m, .init(memberID: "member-2", clientID: "c2", clientHost: "/h")],
                                             authorizedOperations: v >= 3 ? 0x0F00 : Int32.min)
        g.taggedFields = GroupWire.tags(flexible, 1)
        let dead = DescribeGroupsResponse.Group(errorCode: .groupIDNotFound, groupID: "gone", groupState: "Dead")
        var resp = DescribeGroupsResponse(throttleTimeMs: v >= 1 ? 9 : 0, groups: [g, dead])
        resp.taggedFields = GroupWire.tags(flexible, 2)
        return resp
    }

    @Test(arguments: Int16(0)...5)
    func roundTrips(version: Int16) throws {
        var req = DescribeGroupsRequest(groups: ["group-a", "gone"], includeAuthorizedOperations: version >= 3)
        req.taggedFields = GroupWire.tags(ApiKey.describeGroups.isFlexible(version), 0)
        try GroupWire.roundTrip(req, .describeGroups, version)
        try GroupWire.roundTrip(Self.response(version), .describeGroups, version)
    }

    @Test func v5RequestBytes() throws {
        try GroupWire.vector(DescribeGroupsRequest(groups: ["g"], includeAuthorizedOperations: true), .describeGroups, 5, [
            0x02, 0x02, 0x67,        // groups: compact array of 1, compact "g"
            0x01,                    // include_authorized_operations true
            0x00,                    // top-level tags
        ])
    }
}

// MARK: - ListGroups

@Suite struct GroupListGroupsTests {
    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        let flexible = ApiKey.listGroups.isFlexible(version)
        var req = ListGroupsRequest(statesFilter: version >= 4 ? ["Stable", "Empty"] : [])
        req.taggedFields = GroupWire.tags(flexible, 0)
        try GroupWire.roundTrip(req, .listGroups, version)
        var g = ListGroupsResponse.Group(groupID: "group-a", protocolType: "consumer",
                                         groupState: version >= 4 ? "Stable" : "")
        g.taggedFields = GroupWire.tags(flexible, 1)
        var resp = ListGroupsResponse(throttleTimeMs: version >= 1 ? 1 : 0,
                                      groups: [g, .init(groupID: "offsets-only", protocolType: "")])
        resp.taggedFields = GroupWire.tags(flexible, 2)
        try GroupWire.roundTrip(resp, .listGroups, version)
    }

    @Test func v3AndV4RequestBytes() throws {
        try GroupWire.vector(ListGroupsRequest(), .listGroups, 3, [0x00])  // only the tag buffer
        try GroupWire.vector(ListGroupsRequest(statesFilter: ["Empty"]), .listGroups, 4, [
            0x02, 0x06, 0x45, 0x6D, 0x70, 0x74, 0x79,  // states_filter: compact array of 1, compact "Empty"
            0x00,                                      // top-level tags
        ])
        #expect(GroupWire.bytes(ListGroupsRequest().encoded(apiKey: .listGroups, version: 2)).isEmpty)
    }
}

// MARK: - DeleteGroups

@Suite struct GroupDeleteGroupsTests {
    @Test(arguments: Int16(0)...2)
    func roundTrips(version: Int16) throws {
        let flexible = ApiKey.deleteGroups.isFlexible(version)
        var req = DeleteGroupsRequest(groupsNames: ["group-a", "group-b"])
        req.taggedFields = GroupWire.tags(flexible, 0)
        try GroupWire.roundTrip(req, .deleteGroups, version)
        var ok = DeleteGroupsResponse.Result(groupID: "group-a")
        ok.taggedFields = GroupWire.tags(flexible, 1)
        var resp = DeleteGroupsResponse(throttleTimeMs: 3, results: [ok, .init(groupID: "group-b", errorCode: .nonEmptyGroup)])
        resp.taggedFields = GroupWire.tags(flexible, 2)
        try GroupWire.roundTrip(resp, .deleteGroups, version)
    }

    @Test func v0ResponseBytes() throws {
        try GroupWire.vector(DeleteGroupsResponse(results: [.init(groupID: "g", errorCode: .nonEmptyGroup)]),
                             .deleteGroups, 0, [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms (present from v0)
            0x00, 0x00, 0x00, 0x01,  // results: array of 1
            0x00, 0x01, 0x67,        //   group_id "g"
            0x00, 0x44,              //   error_code NON_EMPTY_GROUP (68)
        ])
    }
}

// MARK: - OffsetDelete

@Suite struct GroupOffsetDeleteTests {
    @Test func roundTrips() throws {
        let req = OffsetDeleteRequest(groupID: "group-a", topics: [
            .init(name: "orders", partitions: [.init(partitionIndex: 0), .init(partitionIndex: 3)]),
        ])
        try GroupWire.roundTrip(req, .offsetDelete, 0)
        let resp = OffsetDeleteResponse(throttleTimeMs: 2, topics: [
            .init(name: "orders", partitions: [.init(partitionIndex: 0),
                                               .init(partitionIndex: 3, errorCode: .groupSubscribedToTopic)]),
        ])
        try GroupWire.roundTrip(resp, .offsetDelete, 0)
        try GroupWire.roundTrip(OffsetDeleteResponse(errorCode: .groupIDNotFound), .offsetDelete, 0)
    }

    @Test func v0Bytes() throws {
        try GroupWire.vector(OffsetDeleteRequest(groupID: "g", topics: [.init(name: "t", partitions: [.init(partitionIndex: 2)])]),
                             .offsetDelete, 0, [
            0x00, 0x01, 0x67,        // group_id "g"
            0x00, 0x00, 0x00, 0x01,  // topics: array of 1
            0x00, 0x01, 0x74,        //   name "t"
            0x00, 0x00, 0x00, 0x01,  //   partitions: array of 1
            0x00, 0x00, 0x00, 0x02,  //     partition_index 2
        ])
        try GroupWire.vector(OffsetDeleteResponse(errorCode: .groupIDNotFound, throttleTimeMs: 1), .offsetDelete, 0, [
            0x00, 0x45,              // error_code GROUP_ID_NOT_FOUND (69), before the throttle time
            0x00, 0x00, 0x00, 0x01,  // throttle_time_ms 1
            0x00, 0x00, 0x00, 0x00,  // topics: empty
        ])
    }
}

// MARK: - Malformed input

@Suite struct GroupMalformedInputTests {
    @Test func truncatedBuffersThrow() {
        GroupWire.expectTruncationThrows(GroupJoinGroupTests.request(5), .joinGroup, 5)
        GroupWire.expectTruncationThrows(GroupJoinGroupTests.request(7), .joinGroup, 7)
        GroupWire.expectTruncationThrows(GroupJoinGroupTests.response(7), .joinGroup, 7)
        GroupWire.expectTruncationThrows(GroupSyncGroupTests.request(5), .syncGroup, 5)
        GroupWire.expectTruncationThrows(GroupOffsetCommitTests.request(8), .offsetCommit, 8)
        GroupWire.expectTruncationThrows(GroupOffsetFetchTests.request(8), .offsetFetch, 8)
        GroupWire.expectTruncationThrows(GroupOffsetFetchTests.response(8), .offsetFetch, 8)
        GroupWire.expectTruncationThrows(GroupFindCoordinatorTests.response(4), .findCoordinator, 4)
        GroupWire.expectTruncationThrows(GroupLeaveGroupTests.request(4), .leaveGroup, 4)
        GroupWire.expectTruncationThrows(GroupDescribeGroupsTests.response(5), .describeGroups, 5)
    }

    @Test func hostileCountsThrow() {
        // DescribeGroups v0 request claiming 2^31-1 group names in a 4-byte body.
        #expect(throws: ProtocolError.self) {
            try DescribeGroupsRequest.decode(GroupWire.buf([0x7F, 0xFF, 0xFF, 0xFF]), apiKey: .describeGroups, version: 0)
        }
        // JoinGroup v6 request whose metadata claims more bytes than remain.
        #expect(throws: ProtocolError.self) {
            try JoinGroupRequest.decode(GroupWire.buf([0x02, 0x67, 0, 0, 0, 1, 0, 0, 0, 1, 0x01, 0x00, 0x01,
                                                       0x02, 0x02, 0x61, 0x7F]),
                                        apiKey: .joinGroup, version: 6)
        }
    }
}

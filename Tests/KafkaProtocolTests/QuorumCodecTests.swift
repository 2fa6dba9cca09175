import KafkaProtocol
import NIOCore
import Testing

/// The KRaft quorum and broker-lifecycle RPCs: Vote (52), BeginQuorumEpoch (53), EndQuorumEpoch
/// (54), DescribeQuorum (55), FetchSnapshot (59), BrokerRegistration (62), BrokerHeartbeat (63) and
/// AllocateProducerIds (67), at the versions Kafka 3.9 defines. Round trips for every version,
/// hand-derived bytes from Kafka 3.9's message schemas, and DescribeQuorum bytes written by
/// kafka-python 3.0.12 (the only one of these APIs that kafka-python has).
struct QuorumCodecTests {
    // MARK: Helpers

    /// Encodes then decodes, requiring that the decoder reads every byte.
    static func roundTrip<M: KafkaMessage>(_ message: M, _ key: ApiKey, _ version: Int16) throws -> M {
        var reader = KafkaReader(message.encoded(apiKey: key, version: version), flexible: key.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        return decoded
    }

    static func decodeExact<M: KafkaMessage>(_ bytes: [UInt8], as: M.Type, _ key: ApiKey, _ version: Int16) throws -> M {
        var reader = KafkaReader(ByteBuffer(bytes: bytes), flexible: key.isFlexible(version))
        let decoded = try M(from: &reader, version: version)
        try reader.expectEnd()
        return decoded
    }

    static func bytes<M: KafkaMessage>(_ message: M, _ key: ApiKey, _ version: Int16) -> [UInt8] {
        Array(message.encoded(apiKey: key, version: version).readableBytesView)
    }

    static func cat(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }

    static let dirA = UUIDBytes(high: 0, low: 1)
    static let dirB = UUIDBytes(high: 0, low: 3)
    static let dirABytes: [UInt8] = Array(repeating: 0, count: 15) + [1]
    static let dirBBytes: [UInt8] = Array(repeating: 0, count: 15) + [3]
    static let zeroUUIDBytes: [UInt8] = Array(repeating: 0, count: 16)

    // MARK: ApiKey

    @Test func apiKeysAndFlexibleVersions() {
        let expected: [(ApiKey, Int16, Int16, String)] = [
            (.vote, 52, 0, "Vote"), (.beginQuorumEpoch, 53, 1, "BeginQuorumEpoch"), (.endQuorumEpoch, 54, 1, "EndQuorumEpoch"),
            (.describeQuorum, 55, 0, "DescribeQuorum"), (.fetchSnapshot, 59, 0, "FetchSnapshot"),
            (.brokerRegistration, 62, 0, "BrokerRegistration"), (.brokerHeartbeat, 63, 0, "BrokerHeartbeat"),
            (.allocateProducerIds, 67, 0, "AllocateProducerIds"),
        ]
        for (key, raw, flexible, name) in expected {
            #expect(key.rawValue == raw)
            #expect(key.firstFlexibleVersion == flexible)
            #expect(key.description == name)
        }
        #expect(!ApiKey.beginQuorumEpoch.isFlexible(0))
        #expect(ApiKey.endQuorumEpoch.requestHeaderVersion(1) == 2)
        #expect(ApiKey.endQuorumEpoch.responseHeaderVersion(0) == 0)
    }

    // MARK: Vote

    @Test(arguments: Int16(0)...1)
    func voteRoundTrips(version: Int16) throws {
        let v1 = version >= 1
        let request = VoteRequest(clusterID: "cluster", voterID: v1 ? 2 : -1, topics: [
            .init(topicName: "__cluster_metadata", partitions: [
                .init(partitionIndex: 0, candidateEpoch: 7, candidateID: 1, candidateDirectoryID: v1 ? Self.dirA : zeroDirectoryID,
                      voterDirectoryID: v1 ? Self.dirB : zeroDirectoryID, lastOffsetEpoch: 6, lastOffset: 1234),
            ]),
        ])
        #expect(try Self.roundTrip(request, .vote, version) == request)
        #expect(try Self.roundTrip(VoteRequest(clusterID: nil, topics: []), .vote, version) == VoteRequest(clusterID: nil, topics: []))
        let response = VoteResponse(topics: [
            .init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0, leaderID: -1, leaderEpoch: 7, voteGranted: true)]),
        ], nodeEndpoints: v1 ? [.init(nodeID: 1, host: "localhost", port: 9093), .init(nodeID: 2, host: "h2", port: 65535)] : [])
        #expect(try Self.roundTrip(response, .vote, version) == response)
    }

    @Test func voteV1RequestBytes() throws {
        // VoteRequest v1 (flexible from 0): ClusterId, VoterId (v1+), Topics[Partitions[...]].
        let bytes = Self.cat(
            [2, 0x63],                          // cluster_id "c" (compact: length + 1)
            [0, 0, 0, 2],                       // voter_id: 2
            [2],                                // topics: 1
            [2, 0x6D],                          // topic_name "m"
            [2],                                // partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0, 0, 0, 5],                       // candidate_epoch
            [0, 0, 0, 1],                       // candidate_id
            Self.dirABytes,                     // candidate_directory_id (v1+)
            Self.zeroUUIDBytes,                 // voter_directory_id (v1+): unknown
            [0, 0, 0, 4],                       // last_offset_epoch
            [0, 0, 0, 0, 0, 0, 0, 10],          // last_offset
            [0],                                // partition tags
            [0],                                // topic tags
            [0])                                // request tags
        let expected = VoteRequest(clusterID: "c", voterID: 2, topics: [
            .init(topicName: "m", partitions: [.init(partitionIndex: 0, candidateEpoch: 5, candidateID: 1, candidateDirectoryID: Self.dirA,
                                                     lastOffsetEpoch: 4, lastOffset: 10)]),
        ])
        #expect(try Self.decodeExact(bytes, as: VoteRequest.self, .vote, 1) == expected)
        #expect(Self.bytes(expected, .vote, 1) == bytes)
        // v0 has neither the voter id nor the two directory ids.
        let v0 = Self.cat([2, 0x63], [2, 2, 0x6D, 2], [0, 0, 0, 0], [0, 0, 0, 5], [0, 0, 0, 1], [0, 0, 0, 4],
                          [0, 0, 0, 0, 0, 0, 0, 10], [0, 0, 0])
        var expected0 = expected
        expected0.voterID = -1
        expected0.topics[0].partitions[0].candidateDirectoryID = zeroDirectoryID
        #expect(try Self.decodeExact(v0, as: VoteRequest.self, .vote, 0) == expected0)
    }

    @Test func voteV1ResponseBytesWithTaggedNodeEndpoints() throws {
        let bytes = Self.cat(
            [0, 0],                             // error_code
            [2],                                // topics: 1
            [2, 0x6D],                          // topic_name "m"
            [2],                                // partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0, 0],                             // error_code
            [0, 0, 0, 1],                       // leader_id
            [0, 0, 0, 5],                       // leader_epoch
            [1],                                // vote_granted
            [0],                                // partition tags
            [0],                                // topic tags
            [1],                                // response tags: 1 field
            [0],                                //   tag 0: NodeEndpoints (v1+)
            [10],                               //   size: 10 bytes
            [2],                                //   endpoints: 1
            [0, 0, 0, 1],                       //   node_id
            [2, 0x68],                          //   host "h"
            [0x23, 0x85],                       //   port 9093 (uint16)
            [0])                                //   endpoint tags
        let expected = VoteResponse(topics: [
            .init(topicName: "m", partitions: [.init(partitionIndex: 0, leaderID: 1, leaderEpoch: 5, voteGranted: true)]),
        ], nodeEndpoints: [.init(nodeID: 1, host: "h", port: 9093)])
        #expect(try Self.decodeExact(bytes, as: VoteResponse.self, .vote, 1) == expected)
        #expect(Self.bytes(expected, .vote, 1) == bytes)
        // v0 never writes the tagged endpoints.
        #expect(Self.bytes(expected, .vote, 0) == Array(bytes.prefix(bytes.count - 13)) + [0])
    }

    // MARK: BeginQuorumEpoch

    @Test(arguments: Int16(0)...1)
    func beginQuorumEpochRoundTrips(version: Int16) throws {
        let v1 = version >= 1
        let request = BeginQuorumEpochRequest(clusterID: v1 ? "cluster" : nil, voterID: v1 ? 3 : -1, topics: [
            .init(topicName: "__cluster_metadata", partitions: [
                .init(partitionIndex: 0, voterDirectoryID: v1 ? Self.dirB : zeroDirectoryID, leaderID: 1, leaderEpoch: 9),
            ]),
        ], leaderEndpoints: v1 ? [.init(name: "CONTROLLER", host: "localhost", port: 9093)] : [])
        #expect(try Self.roundTrip(request, .beginQuorumEpoch, version) == request)
        let response = BeginQuorumEpochResponse(errorCode: .none, topics: [
            .init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0, errorCode: ErrorCode(6), leaderID: 2, leaderEpoch: 10)]),
        ], nodeEndpoints: v1 ? [.init(nodeID: 2, host: "h", port: 1)] : [])
        #expect(try Self.roundTrip(response, .beginQuorumEpoch, version) == response)
    }

    @Test func beginQuorumEpochRequestBytes() throws {
        // v0 is not flexible: int16-length strings, int32 array counts, no tag buffers.
        let v0 = Self.cat(
            [0xFF, 0xFF],                       // cluster_id: null
            [0, 0, 0, 1],                       // topics: 1
            [0, 1, 0x6D],                       // topic_name "m"
            [0, 0, 0, 1],                       // partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0, 0, 0, 1],                       // leader_id
            [0, 0, 0, 5])                       // leader_epoch
        let expected0 = BeginQuorumEpochRequest(clusterID: nil, topics: [.init(topicName: "m", partitions: [.init(partitionIndex: 0, leaderID: 1, leaderEpoch: 5)])])
        #expect(try Self.decodeExact(v0, as: BeginQuorumEpochRequest.self, .beginQuorumEpoch, 0) == expected0)
        #expect(Self.bytes(expected0, .beginQuorumEpoch, 0) == v0)

        // v1 is flexible and adds voter_id, voter_directory_id and the (untagged) leader_endpoints.
        let v1 = Self.cat(
            [2, 0x63],                          // cluster_id "c"
            [0, 0, 0, 3],                       // voter_id: 3
            [2, 2, 0x6D, 2],                    // topics: 1, topic_name "m", partitions: 1
            [0, 0, 0, 0],                       // partition_index
            Self.dirBBytes,                     // voter_directory_id
            [0, 0, 0, 1],                       // leader_id
            [0, 0, 0, 5],                       // leader_epoch
            [0, 0],                             // partition tags, topic tags
            [2],                                // leader_endpoints: 1
            [2, 0x43],                          //   name "C"
            [2, 0x68],                          //   host "h"
            [0x23, 0x85],                       //   port 9093
            [0],                                //   endpoint tags
            [0])                                // request tags
        let expected1 = BeginQuorumEpochRequest(clusterID: "c", voterID: 3, topics: [
            .init(topicName: "m", partitions: [.init(partitionIndex: 0, voterDirectoryID: Self.dirB, leaderID: 1, leaderEpoch: 5)]),
        ], leaderEndpoints: [.init(name: "C", host: "h", port: 9093)])
        #expect(try Self.decodeExact(v1, as: BeginQuorumEpochRequest.self, .beginQuorumEpoch, 1) == expected1)
        #expect(Self.bytes(expected1, .beginQuorumEpoch, 1) == v1)
    }

    @Test func beginQuorumEpochV0ResponseBytes() throws {
        let bytes = Self.cat(
            [0, 0],                             // error_code
            [0, 0, 0, 1],                       // topics: 1
            [0, 1, 0x6D],                       // topic_name "m"
            [0, 0, 0, 1],                       // partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0, 6],                             // error_code: NOT_LEADER_OR_FOLLOWER
            [0xFF, 0xFF, 0xFF, 0xFF],           // leader_id: -1 (unknown)
            [0, 0, 0, 5])                       // leader_epoch
        let expected = BeginQuorumEpochResponse(topics: [
            .init(topicName: "m", partitions: [.init(partitionIndex: 0, errorCode: ErrorCode(6), leaderID: -1, leaderEpoch: 5)]),
        ])
        #expect(try Self.decodeExact(bytes, as: BeginQuorumEpochResponse.self, .beginQuorumEpoch, 0) == expected)
        #expect(Self.bytes(expected, .beginQuorumEpoch, 0) == bytes)
    }

    // MARK: EndQuorumEpoch

    @Test(arguments: Int16(0)...1)
    func endQuorumEpochRoundTrips(version: Int16) throws {
        let v1 = version >= 1
        let request = EndQuorumEpochRequest(clusterID: "cluster", topics: [
            .init(topicName: "__cluster_metadata", partitions: [
                .init(partitionIndex: 0, leaderID: 1, leaderEpoch: 9, preferredSuccessors: v1 ? [] : [2, 3],
                      preferredCandidates: v1 ? [.init(candidateID: 2, candidateDirectoryID: Self.dirA), .init(candidateID: 3)] : []),
            ]),
        ], leaderEndpoints: v1 ? [.init(name: "CONTROLLER", host: "localhost", port: 9093)] : [])
        #expect(try Self.roundTrip(request, .endQuorumEpoch, version) == request)
        let response = EndQuorumEpochResponse(topics: [
            .init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0, leaderID: 1, leaderEpoch: 9)]),
        ], nodeEndpoints: v1 ? [.init(nodeID: 1, host: "localhost", port: 9093)] : [])
        #expect(try Self.roundTrip(response, .endQuorumEpoch, version) == response)
    }

    @Test func endQuorumEpochRequestBytes() throws {
        let v0 = Self.cat(
            [0, 1, 0x63],                       // cluster_id "c" (int16 length)
            [0, 0, 0, 1],                       // topics: 1
            [0, 1, 0x6D],                       // topic_name "m"
            [0, 0, 0, 1],                       // partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0, 0, 0, 1],                       // leader_id
            [0, 0, 0, 5],                       // leader_epoch
            [0, 0, 0, 2],                       // preferred_successors (v0 only): 2
            [0, 0, 0, 2], [0, 0, 0, 3])         //   2, 3
        let expected0 = EndQuorumEpochRequest(clusterID: "c", topics: [
            .init(topicName: "m", partitions: [.init(partitionIndex: 0, leaderID: 1, leaderEpoch: 5, preferredSuccessors: [2, 3])]),
        ])
        #expect(try Self.decodeExact(v0, as: EndQuorumEpochRequest.self, .endQuorumEpoch, 0) == expected0)
        #expect(Self.bytes(expected0, .endQuorumEpoch, 0) == v0)

        let v1 = Self.cat(
            [0],                                // cluster_id: null (compact)
            [2, 2, 0x6D, 2],                    // topics: 1, topic_name "m", partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0, 0, 0, 1],                       // leader_id
            [0, 0, 0, 5],                       // leader_epoch
            [2],                                // preferred_candidates (v1+): 1
            [0, 0, 0, 2],                       //   candidate_id
            Self.dirABytes,                     //   candidate_directory_id
            [0],                                //   candidate tags
            [0, 0],                             // partition tags, topic tags
            [1],                                // leader_endpoints: empty
            [0])                                // request tags
        let expected1 = EndQuorumEpochRequest(clusterID: nil, topics: [
            .init(topicName: "m", partitions: [.init(partitionIndex: 0, leaderID: 1, leaderEpoch: 5,
                                                     preferredCandidates: [.init(candidateID: 2, candidateDirectoryID: Self.dirA)])]),
        ])
        #expect(try Self.decodeExact(v1, as: EndQuorumEpochRequest.self, .endQuorumEpoch, 1) == expected1)
        #expect(Self.bytes(expected1, .endQuorumEpoch, 1) == v1)
    }

    // MARK: DescribeQuorum

    @Test(arguments: Int16(0)...2)
    func describeQuorumRoundTrips(version: Int16) throws {
        let request = DescribeQuorumRequest(topics: [.init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)])])
        #expect(try Self.roundTrip(request, .describeQuorum, version) == request)
        let response = Self.describeQuorumResponse(version: version)
        #expect(try Self.roundTrip(response, .describeQuorum, version) == response)
    }

    /// The response that the kafka-python fixtures below encode.
    static func describeQuorumResponse(version: Int16) -> DescribeQuorumResponse {
        let fetch: Int64 = version >= 1 ? 1_700_000_000_000 : -1
        let caughtUp: Int64 = version >= 1 ? 1_699_999_999_000 : -1
        let dir = version >= 2 ? UUIDBytes(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF) : zeroDirectoryID
        return DescribeQuorumResponse(topics: [
            .init(topicName: "__cluster_metadata", partitions: [
                .init(partitionIndex: 0, leaderID: 1, leaderEpoch: 5, highWatermark: 42,
                      currentVoters: [.init(replicaID: 1, replicaDirectoryID: dir, logEndOffset: 42, lastFetchTimestamp: fetch, lastCaughtUpTimestamp: caughtUp)],
                      observers: [.init(replicaID: 7, logEndOffset: 40, lastFetchTimestamp: fetch, lastCaughtUpTimestamp: caughtUp)]),
            ]),
        ], nodes: version >= 2 ? [.init(nodeID: 1, listeners: [.init(name: "CONTROLLER", host: "h", port: 9093)])] : [])
    }

    @Test func describeQuorumV0RequestBytes() throws {
        let bytes = Self.cat(
            [2],                                // topics: 1
            [19], Array("__cluster_metadata".utf8), // topic_name (18 bytes, compact length 19)
            [2],                                // partitions: 1
            [0, 0, 0, 0],                       // partition_index
            [0],                                // partition tags
            [0],                                // topic tags
            [0])                                // request tags
        let expected = DescribeQuorumRequest(topics: [.init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)])])
        #expect(try Self.decodeExact(bytes, as: DescribeQuorumRequest.self, .describeQuorum, 0) == expected)
        #expect(Self.bytes(expected, .describeQuorum, 0) == bytes)
    }

    /// Bytes written by kafka-python 3.0.12's `DescribeQuorumRequest`/`DescribeQuorumResponse`
    /// (`kafka.protocol.admin.cluster`) for the messages above, with `encode(version=v)`.
    static let kafkaPythonDescribeQuorumRequest: [UInt8] = [
        2, 19, 95, 95, 99, 108, 117, 115, 116, 101, 114, 95, 109, 101, 116, 97, 100, 97, 116, 97, 2, 0, 0, 0, 0, 0, 0, 0,
    ]
    static let kafkaPythonDescribeQuorumResponses: [[UInt8]] = [
        [0, 0, 2, 19, 95, 95, 99, 108, 117, 115, 116, 101, 114, 95, 109, 101, 116, 97, 100, 97, 116, 97, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 42, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 40, 0,
         0, 0, 0],
        [0, 0, 2, 19, 95, 95, 99, 108, 117, 115, 116, 101, 114, 95, 109, 101, 116, 97, 100, 97, 116, 97, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 42, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 1, 139, 207, 229, 104, 0, 0, 0, 1,
         139, 207, 229, 100, 24, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 1, 139, 207, 229, 104, 0, 0, 0, 1, 139, 207, 229,
         100, 24, 0, 0, 0, 0],
        [0, 0, 0, 2, 19, 95, 95, 99, 108, 117, 115, 116, 101, 114, 95, 109, 101, 116, 97, 100, 97, 116, 97, 2, 0, 0, 0, 0, 0, 0, 0,
         0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 42, 2, 0, 0, 0, 1, 0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204,
         221, 238, 255, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 1, 139, 207, 229, 104, 0, 0, 0, 1, 139, 207, 229, 100, 24, 0, 2, 0, 0, 0, 7,
         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 1, 139, 207, 229, 104, 0, 0, 0, 1, 139, 207,
         229, 100, 24, 0, 0, 0, 2, 0, 0, 0, 1, 2, 11, 67, 79, 78, 84, 82, 79, 76, 76, 69, 82, 2, 104, 35, 133, 0, 0, 0],
    ]

    @Test(arguments: Int16(0)...2)
    func describeQuorumMatchesKafkaPython(version: Int16) throws {
        let request = DescribeQuorumRequest(topics: [.init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)])])
        #expect(try Self.decodeExact(Self.kafkaPythonDescribeQuorumRequest, as: DescribeQuorumRequest.self, .describeQuorum, version) == request)
        #expect(Self.bytes(request, .describeQuorum, version) == Self.kafkaPythonDescribeQuorumRequest)
        let fixture = Self.kafkaPythonDescribeQuorumResponses[Int(version)]
        let response = Self.describeQuorumResponse(version: version)
        #expect(try Self.decodeExact(fixture, as: DescribeQuorumResponse.self, .describeQuorum, version) == response)
        #expect(Self.bytes(response, .describeQuorum, version) == fixture)
    }

    // MARK: FetchSnapshot

    @Test(arguments: Int16(0)...1)
    func fetchSnapshotRoundTrips(version: Int16) throws {
        let v1 = version >= 1
        for clusterID in [nil, "cluster"] as [String?] {
            let request = FetchSnapshotRequest(clusterID: clusterID, replicaID: 2, maxBytes: 1 << 20, topics: [
                .init(topicName: "__cluster_metadata", partitions: [
                    .init(partition: 0, currentLeaderEpoch: 5, snapshotID: .init(endOffset: 100, epoch: 4), position: 4096,
                          replicaDirectoryID: v1 ? Self.dirA : zeroDirectoryID),
                ]),
            ])
            #expect(try Self.roundTrip(request, .fetchSnapshot, version) == request)
        }
        let response = FetchSnapshotResponse(throttleTimeMs: 1, topics: [
            .init(topicName: "__cluster_metadata", partitions: [
                .init(index: 0, snapshotID: .init(endOffset: 100, epoch: 4), currentLeader: .init(leaderID: 1, leaderEpoch: 5),
                      size: 8192, position: 4096, unalignedRecords: ByteBuffer(bytes: [1, 2, 3, 4])),
                .init(index: 1, errorCode: ErrorCode(6), snapshotID: .init(endOffset: -1, epoch: -1), size: 0, position: 0,
                      unalignedRecords: ByteBuffer()),
            ]),
        ], nodeEndpoints: v1 ? [.init(nodeID: 1, host: "localhost", port: 9093)] : [])
        #expect(try Self.roundTrip(response, .fetchSnapshot, version) == response)
    }

    @Test func fetchSnapshotV1RequestBytesWithTaggedFields() throws {
        let bytes = Self.cat(
            [0, 0, 0, 1],                       // replica_id
            [0, 0, 4, 0],                       // max_bytes: 1024
            [2],                                // topics: 1
            [2, 0x6D],                          // name "m"
            [2],                                // partitions: 1
            [0, 0, 0, 0],                       // partition
            [0, 0, 0, 5],                       // current_leader_epoch
            [0, 0, 0, 0, 0, 0, 0, 100],         // snapshot_id.end_offset
            [0, 0, 0, 4],                       // snapshot_id.epoch
            [0],                                // snapshot_id tags
            [0, 0, 0, 0, 0, 0, 0, 0],           // position
            [1, 0, 16],                         // partition tags: 1 field, tag 0 (replica_directory_id, v1+), 16 bytes
            Self.dirABytes,
            [0],                                // topic tags
            [1, 0, 2],                          // request tags: 1 field, tag 0 (cluster_id), 2 bytes
            [2, 0x63])                          //   compact string "c"
        let expected = FetchSnapshotRequest(clusterID: "c", replicaID: 1, maxBytes: 1024, topics: [
            .init(topicName: "m", partitions: [.init(partition: 0, currentLeaderEpoch: 5, snapshotID: .init(endOffset: 100, epoch: 4),
                                                     position: 0, replicaDirectoryID: Self.dirA)]),
        ])
        #expect(try Self.decodeExact(bytes, as: FetchSnapshotRequest.self, .fetchSnapshot, 1) == expected)
        #expect(Self.bytes(expected, .fetchSnapshot, 1) == bytes)
    }

    @Test func fetchSnapshotV0ResponseBytesWithTaggedCurrentLeader() throws {
        let bytes = Self.cat(
            [0, 0, 0, 0],                       // throttle_time_ms
            [0, 0],                             // error_code
            [2],                                // topics: 1
            [2, 0x6D],                          // name "m"
            [2],                                // partitions: 1
            [0, 0, 0, 0],                       // index
            [0, 0],                             // error_code
            [0, 0, 0, 0, 0, 0, 0, 100],         // snapshot_id.end_offset
            [0, 0, 0, 4],                       // snapshot_id.epoch
            [0],                                // snapshot_id tags
            [0, 0, 0, 0, 0, 0, 0, 3],           // size
            [0, 0, 0, 0, 0, 0, 0, 0],           // position
            [4, 1, 2, 3],                       // unaligned_records: 3 bytes (compact)
            [1, 0, 9],                          // partition tags: 1 field, tag 0 (current_leader), 9 bytes
            [0, 0, 0, 1],                       //   leader_id
            [0, 0, 0, 5],                       //   leader_epoch
            [0],                                //   current_leader tags
            [0],                                // topic tags
            [0])                                // response tags
        let expected = FetchSnapshotResponse(topics: [
            .init(topicName: "m", partitions: [.init(index: 0, snapshotID: .init(endOffset: 100, epoch: 4),
                                                     currentLeader: .init(leaderID: 1, leaderEpoch: 5), size: 3, position: 0,
                                                     unalignedRecords: ByteBuffer(bytes: [1, 2, 3]))]),
        ])
        #expect(try Self.decodeExact(bytes, as: FetchSnapshotResponse.self, .fetchSnapshot, 0) == expected)
        #expect(Self.bytes(expected, .fetchSnapshot, 0) == bytes)
    }

    // MARK: BrokerRegistration

    @Test(arguments: Int16(0)...4)
    func brokerRegistrationRoundTrips(version: Int16) throws {
        let request = BrokerRegistrationRequest(
            brokerID: 1, clusterID: "MkU3OEVBNTcwNTJENDM2Qk", incarnationID: UUIDBytes(high: 7, low: 8),
            listeners: [.init(name: "PLAINTEXT", host: "localhost", port: 9092), .init(name: "SSL", host: "::1", port: 9094, securityProtocol: 1)],
            features: [.init(name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 21)],
            rack: version.isMultiple(of: 2) ? "r1" : nil, isMigratingZkBroker: version >= 1,
            logDirs: version >= 2 ? [Self.dirA, Self.dirB] : [], previousBrokerEpoch: version >= 3 ? 41 : -1)
        #expect(try Self.roundTrip(request, .brokerRegistration, version) == request)
        let response = BrokerRegistrationResponse(throttleTimeMs: 0, errorCode: .none, brokerEpoch: 42)
        #expect(try Self.roundTrip(response, .brokerRegistration, version) == response)
    }

    @Test func brokerRegistrationV3Bytes() throws {
        let bytes = Self.cat(
            [0, 0, 0, 1],                       // broker_id
            [2, 0x63],                          // cluster_id "c"
            Array(repeating: 0, count: 15) + [2], // incarnation_id
            [2],                                // listeners: 1
            [2, 0x50],                          //   name "P"
            [2, 0x68],                          //   host "h"
            [0x23, 0x84],                       //   port 9092 (uint16)
            [0, 0],                             //   security_protocol: PLAINTEXT
            [0],                                //   listener tags
            [2],                                // features: 1
            [2, 0x66],                          //   name "f"
            [0, 1],                             //   min_supported_version
            [0, 21],                            //   max_supported_version
            [0],                                //   feature tags
            [0],                                // rack: null
            [0],                                // is_migrating_zk_broker (v1+): false
            [2], Self.dirBBytes,                // log_dirs (v2+): 1
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], // previous_broker_epoch (v3+): -1
            [0])                                // request tags
        let expected = BrokerRegistrationRequest(
            brokerID: 1, clusterID: "c", incarnationID: UUIDBytes(high: 0, low: 2), listeners: [.init(name: "P", host: "h", port: 9092)],
            features: [.init(name: "f", minSupportedVersion: 1, maxSupportedVersion: 21)], logDirs: [Self.dirB])
        #expect(try Self.decodeExact(bytes, as: BrokerRegistrationRequest.self, .brokerRegistration, 3) == expected)
        #expect(Self.bytes(expected, .brokerRegistration, 3) == bytes)
        #expect(Self.bytes(expected, .brokerRegistration, 4) == bytes)

        let response: [UInt8] = [
            0, 0, 0, 0,                         // throttle_time_ms
            0, 0,                               // error_code
            0, 0, 0, 0, 0, 0, 0, 7,             // broker_epoch
            0,                                  // response tags
        ]
        #expect(try Self.decodeExact(response, as: BrokerRegistrationResponse.self, .brokerRegistration, 3)
                == BrokerRegistrationResponse(brokerEpoch: 7))
    }

    // MARK: BrokerHeartbeat

    @Test(arguments: Int16(0)...1)
    func brokerHeartbeatRoundTrips(version: Int16) throws {
        let request = BrokerHeartbeatRequest(brokerID: 1, brokerEpoch: 42, currentMetadataOffset: 1000, wantFence: false, wantShutDown: true,
                                             offlineLogDirs: version >= 1 ? [Self.dirA] : [])
        #expect(try Self.roundTrip(request, .brokerHeartbeat, version) == request)
        let response = BrokerHeartbeatResponse(throttleTimeMs: 0, isCaughtUp: true, isFenced: false, shouldShutDown: false)
        #expect(try Self.roundTrip(response, .brokerHeartbeat, version) == response)
    }

    @Test func brokerHeartbeatV1Bytes() throws {
        let bytes = Self.cat(
            [0, 0, 0, 1],                       // broker_id
            [0, 0, 0, 0, 0, 0, 0, 7],           // broker_epoch
            [0, 0, 0, 0, 0, 0, 0, 100],         // current_metadata_offset
            [0],                                // want_fence
            [0],                                // want_shut_down
            [1, 0, 17],                         // tags: 1 field, tag 0 (offline_log_dirs, v1+), 17 bytes
            [2], Self.dirBBytes)                //   compact array of 1 uuid
        let expected = BrokerHeartbeatRequest(brokerID: 1, brokerEpoch: 7, currentMetadataOffset: 100, wantFence: false,
                                              wantShutDown: false, offlineLogDirs: [Self.dirB])
        #expect(try Self.decodeExact(bytes, as: BrokerHeartbeatRequest.self, .brokerHeartbeat, 1) == expected)
        #expect(Self.bytes(expected, .brokerHeartbeat, 1) == bytes)
        // v0 has no offline log dirs: the tag buffer stays empty.
        #expect(Self.bytes(expected, .brokerHeartbeat, 0) == Array(bytes.prefix(22)) + [0])

        let response: [UInt8] = [
            0, 0, 0, 0,                         // throttle_time_ms
            0, 0,                               // error_code
            1,                                  // is_caught_up
            0,                                  // is_fenced
            0,                                  // should_shut_down
            0,                                  // response tags
        ]
        let decoded = try Self.decodeExact(response, as: BrokerHeartbeatResponse.self, .brokerHeartbeat, 1)
        #expect(decoded == BrokerHeartbeatResponse(isCaughtUp: true, isFenced: false))
        #expect(Self.bytes(decoded, .brokerHeartbeat, 1) == response)
    }

    // MARK: AllocateProducerIds

    @Test func allocateProducerIdsV0() throws {
        let request = AllocateProducerIdsRequest(brokerID: 1, brokerEpoch: 7)
        let requestBytes: [UInt8] = [
            0, 0, 0, 1,                         // broker_id
            0, 0, 0, 0, 0, 0, 0, 7,             // broker_epoch
            0,                                  // request tags
        ]
        #expect(Self.bytes(request, .allocateProducerIds, 0) == requestBytes)
        #expect(try Self.decodeExact(requestBytes, as: AllocateProducerIdsRequest.self, .allocateProducerIds, 0) == request)
        let response = AllocateProducerIdsResponse(producerIDStart: 1000, producerIDLen: 1000)
        let responseBytes: [UInt8] = [
            0, 0, 0, 0,                         // throttle_time_ms
            0, 0,                               // error_code
            0, 0, 0, 0, 0, 0, 0x03, 0xE8,       // producer_id_start: 1000
            0, 0, 0x03, 0xE8,                   // producer_id_len: 1000
            0,                                  // response tags
        ]
        #expect(Self.bytes(response, .allocateProducerIds, 0) == responseBytes)
        #expect(try Self.decodeExact(responseBytes, as: AllocateProducerIdsResponse.self, .allocateProducerIds, 0) == response)
        #expect(try Self.roundTrip(AllocateProducerIdsResponse(errorCode: ErrorCode(41), producerIDStart: -1, producerIDLen: 0),
                                   .allocateProducerIds, 0).errorCode == ErrorCode(41))
    }

    @Test func unknownTaggedFieldsSurviveARoundTrip() throws {
        // A tag this schema does not define (tag 5 at the top of a VoteResponse v1) is kept raw.
        var response = VoteResponse(topics: [], nodeEndpoints: [.init(nodeID: 1, host: "h", port: 1)])
        response.taggedFields.set(5, ByteBuffer(bytes: [9]))
        let decoded = try Self.roundTrip(response, .vote, 1)
        #expect(decoded == response)
        #expect(Self.bytes(decoded, .vote, 1).suffix(3) == [5, 1, 9])
    }
}

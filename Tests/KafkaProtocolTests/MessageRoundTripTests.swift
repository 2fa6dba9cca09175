import KafkaProtocol
import NIOCore
import Testing

// MARK: - Helpers

private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

private func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

/// An unknown tagged field, to check that re-encoding keeps tags Runnel does not model.
private func unknownTags(_ tag: UInt32 = 9) -> TaggedFields {
    TaggedFields([(tag: tag, value: ByteBuffer(bytes: [0xAB, 0xCD]))])
}

private let uuidA = UUIDBytes(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
private let uuidB = UUIDBytes(high: 7, low: 9)

/// Encodes, decodes, compares, and re-encodes `value`; returns the first encoding.
@discardableResult
private func roundTrip<M: KafkaMessage & Equatable>(
    _ value: M, _ apiKey: ApiKey, _ version: Int16, sourceLocation: SourceLocation = #_sourceLocation
) throws -> ByteBuffer {
    let encoded = value.encoded(apiKey: apiKey, version: version)
    let decoded = try M.decode(encoded, apiKey: apiKey, version: version)
    #expect(decoded == value, "\(M.self) v\(version) decoded differently", sourceLocation: sourceLocation)
    let again = decoded.encoded(apiKey: apiKey, version: version)
    #expect(bytes(again) == bytes(encoded), "\(M.self) v\(version) re-encoded differently",
            sourceLocation: sourceLocation)
    return encoded
}

// MARK: - Metadata

@Suite struct MetadataRoundTripTests {
    static func request(_ v: Int16, allTopics: Bool = false) -> MetadataRequest {
        let flexible = ApiKey.metadata.isFlexible(v)
        var a = MetadataRequest.Topic(topicID: v >= 10 ? uuidA : .zero, name: "alpha")
        if flexible { a.taggedFields = unknownTags() }
        let b = MetadataRequest.Topic(topicID: v >= 10 ? uuidB : .zero, name: v >= 10 ? nil : "beta")
        var req = MetadataRequest(topics: allTopics ? nil : [a, b], allowAutoTopicCreation: v < 4,
                                  includeClusterAuthorizedOperations: (8...10).contains(v),
                                  includeTopicAuthorizedOperations: v >= 8)
        if flexible { req.taggedFields = unknownTags(3) }
        return req
    }

    static func response(_ v: Int16) -> MetadataResponse {
        let flexible = ApiKey.metadata.isFlexible(v)
        var broker = MetadataResponse.Broker(nodeID: 1, host: "host-1", port: 9092, rack: v >= 1 ? "rack-a" : nil)
        if flexible { broker.taggedFields = unknownTags() }
        var p0 = MetadataResponse.Partition(
            errorCode: .leaderNotAvailable, partitionIndex: 0, leaderID: 1, leaderEpoch: v >= 7 ? 4 : -1,
            replicaNodes: [1, 2, 3], isrNodes: [1, 2], offlineReplicas: v >= 5 ? [3] : [])
        if flexible { p0.taggedFields = unknownTags() }
        let p1 = MetadataResponse.Partition(partitionIndex: 1, leaderID: 2, replicaNodes: [], isrNodes: [])
        var t0 = MetadataResponse.Topic(name: "alpha", topicID: v >= 10 ? uuidA : .zero, isInternal: v >= 1,
                                        partitions: [p0, p1], topicAuthorizedOperations: v >= 8 ? 0x0F8 : Int32.min)
        if flexible { t0.taggedFields = unknownTags() }
        let t1 = MetadataResponse.Topic(errorCode: .unknownTopicID, name: v >= 12 ? nil : "", topicID: v >= 10 ? uuidB : .zero,
                                        partitions: [])
        var resp = MetadataResponse(
            throttleTimeMs: v >= 3 ? 25 : 0, brokers: [broker, .init(nodeID: 2, host: "h2", port: 1)],
            clusterID: v >= 2 ? "cluster-xyz" : nil, controllerID: v >= 1 ? 1 : -1, topics: [t0, t1],
            clusterAuthorizedOperations: (8...10).contains(v) ? 0x7 : Int32.min)
        if flexible { resp.taggedFields = unknownTags() }
        return resp
    }

    @Test(arguments: Int16(0)...12)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .metadata, version)
        if version >= 1 { try roundTrip(Self.request(version, allTopics: true), .metadata, version) }
        try roundTrip(Self.response(version), .metadata, version)
    }

    @Test func v0RequestBytes() {
        let req = MetadataRequest(topics: [.init(name: "t")])
        #expect(bytes(req.encoded(apiKey: .metadata, version: 0)) == [0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74])
    }

    @Test func v1NullTopicsBytes() {
        #expect(bytes(MetadataRequest(topics: nil).encoded(apiKey: .metadata, version: 1)) == [0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test func v9FlexibleRequestBytes() throws {
        let req = MetadataRequest(topics: [.init(name: "t")])
        let encoded = req.encoded(apiKey: .metadata, version: 9)
        // compact array (1+1), compact string "t", topic tags, allow_auto, include_cluster, include_topic, tags
        #expect(bytes(encoded) == [0x02, 0x02, 0x74, 0x00, 0x01, 0x00, 0x00, 0x00])
        #expect(try MetadataRequest.decode(encoded, apiKey: .metadata, version: 9) == req)
        let all = MetadataRequest(topics: nil, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true)
        #expect(bytes(all.encoded(apiKey: .metadata, version: 9)) == [0x00, 0x00, 0x00, 0x01, 0x00])
    }

    @Test func v10NullNameByID() throws {
        let req = MetadataRequest(topics: [.init(topicID: uuidA, name: nil)])
        let encoded = bytes(req.encoded(apiKey: .metadata, version: 10))
        #expect(encoded == [0x02] + uuidA.bytes + [0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
        // v12 drops include_cluster_authorized_operations.
        #expect(bytes(req.encoded(apiKey: .metadata, version: 12)).count == encoded.count - 1)
    }

    @Test func v9NullNameIsRejected() {
        // Name is nullable only from v10.
        let body = buffer([0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
        #expect(throws: ProtocolError.self) { try MetadataRequest.decode(body, apiKey: .metadata, version: 9) }
    }
}

// MARK: - Produce

@Suite struct ProduceRoundTripTests {
    static func request(_ v: Int16) -> ProduceRequest {
        let flexible = ApiKey.produce.isFlexible(v)
        var p0 = ProduceRequest.PartitionData(index: 0, records: buffer([1, 2, 3, 4]))
        if flexible { p0.taggedFields = unknownTags() }
        var t = ProduceRequest.TopicData(name: "orders", partitionData: [p0, .init(index: 7, records: nil)])
        if flexible { t.taggedFields = unknownTags() }
        var req = ProduceRequest(transactionalID: v >= 3 ? "tx-1" : nil, acks: -1, timeoutMs: 30000,
                                 topicData: [t, .init(name: "empty", partitionData: [])])
        if flexible { req.taggedFields = unknownTags() }
        return req
    }

    static func response(_ v: Int16) -> ProduceResponse {
        let flexible = ApiKey.produce.isFlexible(v)
        var err = ProduceResponse.RecordError(batchIndex: 3, batchIndexErrorMessage: "bad record")
        if flexible { err.taggedFields = unknownTags() }
        var p0 = ProduceResponse.PartitionResponse(
            index: 0, errorCode: v >= 8 ? .invalidRecord : .none, baseOffset: 1_000_000,
            logAppendTimeMs: v >= 2 ? 1_700_000_000_000 : -1, logStartOffset: v >= 5 ? 12 : -1,
            recordErrors: v >= 8 ? [err, .init(batchIndex: 4)] : [], errorMessage: v >= 8 ? "dropped" : nil)
        if flexible { p0.taggedFields = unknownTags() }
        var t = ProduceResponse.TopicResponse(name: "orders", partitionResponses: [p0, .init(index: 1, baseOffset: 5)])
        if flexible { t.taggedFields = unknownTags() }
        var resp = ProduceResponse(responses: [t], throttleTimeMs: v >= 1 ? 17 : 0)
        if flexible { resp.taggedFields = unknownTags() }
        return resp
    }

    @Test(arguments: Int16(0)...9)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .produce, version)
        try roundTrip(Self.response(version), .produce, version)
    }

    @Test func v0RequestDecodesFromBytes() throws {
        // acks=1, timeout=1000, [topic "t": [partition 2: 3 bytes of message set]]
        let body = buffer([0x00, 0x01, 0x00, 0x00, 0x03, 0xE8,
                           0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,
                           0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
                           0x00, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC])
        let req = try ProduceRequest.decode(body, apiKey: .produce, version: 0)
        #expect(req == ProduceRequest(acks: 1, timeoutMs: 1000,
                                      topicData: [.init(name: "t", partitionData: [.init(index: 2, records: buffer([0xAA, 0xBB, 0xCC]))])]))
    }

    @Test func v3NullTransactionalID() {
        let req = ProduceRequest(acks: 0, timeoutMs: 1, topicData: [])
        #expect(bytes(req.encoded(apiKey: .produce, version: 3))
                == [0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00])
        #expect(bytes(req.encoded(apiKey: .produce, version: 9)) == [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00])
    }
}

// MARK: - Fetch

@Suite struct FetchRoundTripTests {
    static func request(_ v: Int16) -> FetchRequest {
        let flexible = ApiKey.fetch.isFlexible(v)
        var p0 = FetchRequest.Partition(
            partition: 0, currentLeaderEpoch: v >= 9 ? 3 : -1, fetchOffset: 42, lastFetchedEpoch: v >= 12 ? 2 : -1,
            logStartOffset: v >= 5 ? 7 : -1, partitionMaxBytes: 1_048_576)
        if flexible { p0.taggedFields = unknownTags() }
        var t = FetchRequest.Topic(topic: "orders", partitions: [p0, .init(partition: 1, fetchOffset: 0, partitionMaxBytes: 1)])
        if flexible { t.taggedFields = unknownTags() }
        var forgotten = FetchRequest.ForgottenTopic(topic: "old", partitions: [4, 5])
        if flexible { forgotten.taggedFields = unknownTags() }
        var req = FetchRequest(
            clusterID: v >= 12 ? "cluster-xyz" : nil, replicaID: -1, maxWaitMs: 500, minBytes: 1,
            maxBytes: 52_428_800, isolationLevel: 1, sessionID: v >= 7 ? 99 : 0, sessionEpoch: v >= 7 ? 3 : -1,
            topics: [t], forgottenTopicsData: v >= 7 ? [forgotten] : [], rackID: v >= 11 ? "rack-a" : "")
        if flexible { req.taggedFields = unknownTags() }
        return req
    }

    static func response(_ v: Int16) -> FetchResponse {
        let flexible = ApiKey.fetch.isFlexible(v)
        var p0 = FetchResponse.PartitionData(
            partitionIndex: 0, errorCode: .none, highWatermark: 100, lastStableOffset: 90, logStartOffset: v >= 5 ? 10 : -1,
            abortedTransactions: [.init(producerID: 5, firstOffset: 50)], preferredReadReplica: v >= 11 ? 2 : -1,
            records: buffer([9, 8, 7, 6, 5]))
        if flexible {
            p0.divergingEpoch = .init(epoch: 3, endOffset: 80)
            p0.currentLeader = .init(leaderID: 1, leaderEpoch: 5)
            p0.snapshotID = .init(endOffset: 70, epoch: 2)
            p0.taggedFields = unknownTags()
        }
        let p1 = FetchResponse.PartitionData(partitionIndex: 1, errorCode: .offsetOutOfRange, highWatermark: 0)
        var t = FetchResponse.TopicResponse(topic: "orders", partitions: [p0, p1])
        if flexible { t.taggedFields = unknownTags() }
        var resp = FetchResponse(throttleTimeMs: 12, errorCode: v >= 7 ? .invalidRequest : .none,
                                 sessionID: v >= 7 ? 99 : 0, responses: [t])
        if flexible { resp.taggedFields = unknownTags() }
        return resp
    }

    @Test(arguments: Int16(4)...12)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .fetch, version)
        try roundTrip(Self.response(version), .fetch, version)
    }

    @Test func v12ClusterIDIsTagZero() throws {
        let req = FetchRequest(clusterID: "c", maxWaitMs: 0, minBytes: 0, topics: [])
        let encoded = bytes(req.encoded(apiKey: .fetch, version: 12))
        // ... rack_id "" (01), then tag buffer: 1 field, tag 0, size 2, compact string "c".
        #expect(Array(encoded.suffix(6)) == [0x01, 0x01, 0x00, 0x02, 0x02, 0x63])
        let none = FetchRequest(maxWaitMs: 0, minBytes: 0, topics: [])
        #expect(bytes(none.encoded(apiKey: .fetch, version: 12)).last == 0x00)
    }

    @Test func v12ResponsePartitionBytes() throws {
        let p = FetchResponse.PartitionData(partitionIndex: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0,
                                            currentLeader: .init(leaderID: 1, leaderEpoch: 5))
        let resp = FetchResponse(responses: [.init(topic: "t", partitions: [p])])
        let expected: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0,            // throttle, error, session
                                 0x02, 0x02, 0x74, 0x02,                     // responses[1], "t", partitions[1]
                                 0, 0, 0, 0, 0, 0,                           // index, error
                                 0, 0, 0, 0, 0, 0, 0, 10,                    // high watermark
                                 0, 0, 0, 0, 0, 0, 0, 10,                    // last stable offset
                                 0, 0, 0, 0, 0, 0, 0, 0,                     // log start offset
                                 0x00,                                       // aborted: null
                                 0xFF, 0xFF, 0xFF, 0xFF,                     // preferred read replica
                                 0x01,                                       // records: empty, not null
                                 0x01, 0x01, 0x09, 0, 0, 0, 1, 0, 0, 0, 5, 0x00, // tag 1 = current leader
                                 0x00, 0x00]                                 // topic tags, top tags
        let encoded = try roundTrip(resp, .fetch, 12)
        #expect(bytes(encoded) == expected)
        // With default tagged values, the partition tag buffer is empty.
        var plain = resp
        plain.responses[0].partitions[0].currentLeader = .init()
        let plainBytes = bytes(plain.encoded(apiKey: .fetch, version: 12))
        #expect(plainBytes == Array(expected.prefix(50)) + [0x00, 0x00, 0x00])
    }

    @Test func nonFlexibleRecordsEmptyNotNullAndNullDecodesEmpty() throws {
        let resp = FetchResponse(responses: [.init(topic: "t", partitions: [.init(partitionIndex: 0, highWatermark: 0)])])
        let encoded = bytes(resp.encoded(apiKey: .fetch, version: 11))
        #expect(Array(encoded.suffix(4)) == [0, 0, 0, 0])
        let withNull = buffer(Array(encoded.dropLast(4)) + [0xFF, 0xFF, 0xFF, 0xFF])
        let decoded = try FetchResponse.decode(withNull, apiKey: .fetch, version: 11)
        #expect(decoded == resp)
        #expect(decoded.responses[0].partitions[0].records.readableBytes == 0)
    }
}

// MARK: - ListOffsets

@Suite struct ListOffsetsRoundTripTests {
    static func request(_ v: Int16) -> ListOffsetsRequest {
        let flexible = ApiKey.listOffsets.isFlexible(v)
        var p = ListOffsetsRequest.Partition(partitionIndex: 3, currentLeaderEpoch: v >= 4 ? 6 : -1, timestamp: -2,
                                             maxNumOffsets: v == 0 ? 5 : 1)
        if flexible { p.taggedFields = unknownTags() }
        var t = ListOffsetsRequest.Topic(name: "orders", partitions: [p, .init(partitionIndex: 4, timestamp: 1_700_000_000_000)])
        if flexible { t.taggedFields = unknownTags() }
        var req = ListOffsetsRequest(replicaID: -1, isolationLevel: v >= 2 ? 1 : 0, topics: [t])
        if flexible { req.taggedFields = unknownTags() }
        return req
    }

    static func response(_ v: Int16) -> ListOffsetsResponse {
        let flexible = ApiKey.listOffsets.isFlexible(v)
        var p = ListOffsetsResponse.Partition(
            partitionIndex: 3, errorCode: .none, oldStyleOffsets: v == 0 ? [10, 5] : [],
            timestamp: v >= 1 ? 1_700_000_000_000 : -1, offset: v >= 1 ? 77 : -1, leaderEpoch: v >= 4 ? 6 : -1)
        if flexible { p.taggedFields = unknownTags() }
        var t = ListOffsetsResponse.Topic(name: "orders", partitions: [p, .init(partitionIndex: 4, errorCode: .fencedLeaderEpoch)])
        if flexible { t.taggedFields = unknownTags() }
        var resp = ListOffsetsResponse(throttleTimeMs: v >= 2 ? 8 : 0, topics: [t])
        if flexible { resp.taggedFields = unknownTags() }
        return resp
    }

    @Test(arguments: Int16(0)...7)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .listOffsets, version)
        try roundTrip(Self.response(version), .listOffsets, version)
    }
}

// MARK: - CreateTopics

@Suite struct CreateTopicsRoundTripTests {
    static func request(_ v: Int16) -> CreateTopicsRequest {
        let flexible = ApiKey.createTopics.isFlexible(v)
        var a = CreateTopicsRequest.Assignment(partitionIndex: 0, brokerIDs: [1, 2])
        if flexible { a.taggedFields = unknownTags() }
        var c = CreateTopicsRequest.Config(name: "cleanup.policy", value: "compact")
        if flexible { c.taggedFields = unknownTags() }
        var t = CreateTopicsRequest.Topic(name: "manual", numPartitions: -1, replicationFactor: -1, assignments: [a],
                                          configs: [c, .init(name: "retention.ms", value: nil)])
        if flexible { t.taggedFields = unknownTags() }
        var req = CreateTopicsRequest(topics: [t, .init(name: "auto", numPartitions: 3, replicationFactor: 1)],
                                      timeoutMs: 15000, validateOnly: v >= 1)
        if flexible { req.taggedFields = unknownTags() }
        return req
    }

    static func response(_ v: Int16) -> CreateTopicsResponse {
        let flexible = ApiKey.createTopics.isFlexible(v)
        var c = CreateTopicsResponse.Config(name: "cleanup.policy", value: "delete", readOnly: true, configSource: 5,
                                            isSensitive: true)
        if flexible { c.taggedFields = unknownTags() }
        var t0 = CreateTopicsResponse.Topic(
            name: "ok", errorCode: .none, errorMessage: nil, numPartitions: v >= 5 ? 3 : -1,
            replicationFactor: v >= 5 ? 1 : -1, configs: v >= 5 ? [c, .init(name: "x", value: nil)] : [])
        if flexible { t0.taggedFields = unknownTags() }
        let t1 = CreateTopicsResponse.Topic(
            name: "bad", errorCode: .topicAlreadyExists, errorMessage: v >= 1 ? "exists" : nil,
            topicConfigErrorCode: v >= 5 ? .invalidConfig : .none, configs: v >= 5 ? nil : [])
        var resp = CreateTopicsResponse(throttleTimeMs: v >= 2 ? 4 : 0, topics: [t0, t1])
        if flexible { resp.taggedFields = unknownTags() }
        return resp
    }

    @Test(arguments: Int16(0)...5)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .createTopics, version)
        try roundTrip(Self.response(version), .createTopics, version)
    }

    @Test func v5TopicConfigErrorCodeOnlyWhenSet() {
        let plain = CreateTopicsResponse(topics: [.init(name: "t", configs: nil)])
        // throttle, topics[1], "t", error, message null, partitions -1, rf -1, configs null, tags{}, tags{}
        let expected: [UInt8] = [0, 0, 0, 0, 0x02, 0x02, 0x74, 0, 0, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00]
        #expect(bytes(plain.encoded(apiKey: .createTopics, version: 5)) == expected)
        var withError = plain
        withError.topics[0].topicConfigErrorCode = .invalidConfig
        #expect(bytes(withError.encoded(apiKey: .createTopics, version: 5))
                == Array(expected.prefix(17)) + [0x01, 0x00, 0x02, 0x00, 0x28, 0x00])
    }
}

// MARK: - DeleteTopics

@Suite struct DeleteTopicsRoundTripTests {
    static func request(_ v: Int16) -> DeleteTopicsRequest {
        var req = DeleteTopicsRequest(topicNames: ["a", "bc", ""], timeoutMs: 30000)
        if ApiKey.deleteTopics.isFlexible(v) { req.taggedFields = unknownTags() }
        return req
    }

    static func response(_ v: Int16) -> DeleteTopicsResponse {
        var r = DeleteTopicsResponse.Result(name: "a", errorCode: .unknownTopicOrPartition)
        var resp = DeleteTopicsResponse(throttleTimeMs: v >= 1 ? 3 : 0, responses: [.init(name: "bc")])
        if ApiKey.deleteTopics.isFlexible(v) {
            r.taggedFields = unknownTags()
            resp.taggedFields = unknownTags()
        }
        resp.responses.append(r)
        return resp
    }

    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .deleteTopics, version)
        try roundTrip(Self.response(version), .deleteTopics, version)
    }

    @Test func v4CompactArrayBytes() throws {
        let req = DeleteTopicsRequest(topicNames: ["a", "bc"], timeoutMs: 1000)
        let encoded = req.encoded(apiKey: .deleteTopics, version: 4)
        #expect(bytes(encoded) == [0x03, 0x02, 0x61, 0x03, 0x62, 0x63, 0x00, 0x00, 0x03, 0xE8, 0x00])
        #expect(try DeleteTopicsRequest.decode(encoded, apiKey: .deleteTopics, version: 4) == req)
        #expect(bytes(req.encoded(apiKey: .deleteTopics, version: 3))
                == [0, 0, 0, 2, 0, 1, 0x61, 0, 2, 0x62, 0x63, 0x00, 0x00, 0x03, 0xE8])
    }
}

// MARK: - OffsetForLeaderEpoch

@Suite struct OffsetForLeaderEpochRoundTripTests {
    static func request(_ v: Int16) -> OffsetForLeaderEpochRequest {
        let flexible = ApiKey.offsetForLeaderEpoch.isFlexible(v)
        var p = OffsetForLeaderEpochRequest.Partition(partition: 2, currentLeaderEpoch: v >= 2 ? 9 : -1, leaderEpoch: 8)
        if flexible { p.taggedFields = unknownTags() }
        var t = OffsetForLeaderEpochRequest.Topic(topic: "orders", partitions: [p, .init(partition: 3, leaderEpoch: 0)])
        if flexible { t.taggedFields = unknownTags() }
        var req = OffsetForLeaderEpochRequest(replicaID: v >= 3 ? -1 : -2, topics: [t])
        if flexible { req.taggedFields = unknownTags() }
        return req
    }

    static func response(_ v: Int16) -> OffsetForLeaderEpochResponse {
        let flexible = ApiKey.offsetForLeaderEpoch.isFlexible(v)
        var p = OffsetForLeaderEpochResponse.EpochEndOffset(errorCode: .none, partition: 2, leaderEpoch: v >= 1 ? 8 : -1,
                                                            endOffset: 1234)
        if flexible { p.taggedFields = unknownTags() }
        var t = OffsetForLeaderEpochResponse.Topic(topic: "orders", partitions: [p, .init(errorCode: .fencedLeaderEpoch, partition: 3)])
        if flexible { t.taggedFields = unknownTags() }
        var resp = OffsetForLeaderEpochResponse(throttleTimeMs: v >= 2 ? 6 : 0, topics: [t])
        if flexible { resp.taggedFields = unknownTags() }
        return resp
    }

    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        try roundTrip(Self.request(version), .offsetForLeaderEpoch, version)
        try roundTrip(Self.response(version), .offsetForLeaderEpoch, version)
    }

    @Test func v4ResponseBytes() {
        let resp = OffsetForLeaderEpochResponse(topics: [.init(topic: "t", partitions: [.init(partition: 1, leaderEpoch: 2, endOffset: 3)])])
        #expect(bytes(resp.encoded(apiKey: .offsetForLeaderEpoch, version: 4))
                == [0, 0, 0, 0, 0x02, 0x02, 0x74, 0x02, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0x00, 0x00, 0x00])
    }
}

// MARK: - Whole-message rules

/// Kafka ignores bytes after the last field, and librdkafka relies on it: its "all topics"
/// Metadata v9+ body keeps a four-byte array-count placeholder (captured from confluent-kafka 2.16).
@Test func decodeIgnoresTrailingBytesLikeKafka() throws {
    let librdkafkaAllTopicsV12 = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00])
    let request = try MetadataRequest.decode(librdkafkaAllTopicsV12, apiKey: .metadata, version: 12)
    #expect(request.topics == nil)
    #expect(request.allowAutoTopicCreation == false)
    var reader = KafkaReader(librdkafkaAllTopicsV12, flexible: true)
    _ = try MetadataRequest(from: &reader, version: 12)
    #expect(throws: ProtocolError.trailingBytes(count: 3)) { try reader.expectEnd() }
}

@Test func truncatedBodiesThrow() throws {
    let full = bytes(FetchRoundTripTests.request(12).encoded(apiKey: .fetch, version: 12))
    for cut in 0..<full.count {
        #expect(throws: ProtocolError.self) {
            try FetchRequest.decode(buffer(Array(full.prefix(cut))), apiKey: .fetch, version: 12)
        }
    }
}

import GroupCoordinator
import Foundation
import KafkaProtocol
import Logging
import NIOCore
@testable import RunnelBroker
import Testing

/// The router end to end, in process: frames in, framed responses (or a close) out.
struct RequestRouterTests {
    static func withRouter(_ body: (RequestRouter) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("router-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try BrokerConfig(overrides: [("log.dirs", dir)])
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let controller = try Controller(config: config, logger: logger)
        let groups = GroupCoordinator(partitionCount: 1, store: ConsumerOffsetsStore(controller: controller), limits: GroupLimits(),
                                      logger: logger)
        let handlers = RequestHandlers(controller: controller, groups: groups, config: config, advertised: try config.advertisedListeners[0],
                                       nodeID: 1, clusterID: controller.clusterID, logger: logger)
        try await body(RequestRouter(handlers: handlers))
        await controller.shutdown()
    }

    static let context = RequestContext(peer: "test", clientHost: "/127.0.0.1", logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })

    static func frame(_ key: ApiKey, _ version: Int16, correlationID: Int32 = 42, body: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        RequestHeader(apiKey: key, apiVersion: version, correlationID: correlationID, clientID: "t").encode(to: &b)
        b.writeBytes(body)
        return b
    }

    @Test func apiVersionsV3AnswersWithHeaderV0AndTheAdvertisedTable() async throws {
        try await Self.withRouter { router in
            // v3 body: compact strings "x", "1", empty tags.
            let outcome = await router.handle(frame: Self.frame(.apiVersions, 3, body: [2, 0x78, 2, 0x31, 0]), context: Self.context)
            guard case .respond(let framed) = outcome else { Issue.record("expected a response"); return }
            var bytes = try framed.joined()
            #expect(bytes.readInteger(as: Int32.self) == Int32(bytes.readableBytes))
            #expect(bytes.readInteger(as: Int32.self) == 42)  // header v0: no tag buffer follows
            var reader = KafkaReader(bytes, flexible: true)
            let response = try ApiVersionsResponse(from: &reader, version: 3)
            #expect(response.errorCode == .none)
            let table = Dictionary(uniqueKeysWithValues: response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            #expect(table[0] == 0...9)
            #expect(table[1] == 0...12)  // Fetch v0-3 down-converted to magic 0/1 (as Kafka 3.x)
            #expect(table[2] == 1...7)
            #expect(table[3] == 0...12)
            #expect(table[18] == 0...4)
            #expect(table[19] == 0...5)
            #expect(table[20] == 0...4)
            #expect(table[21] == 0...2)
            #expect(table[23] == 2...4)
            // Consumer groups: the brief's table 1.1, with FindCoordinator, JoinGroup, Heartbeat,
            // LeaveGroup and SyncGroup from 0 (librdkafka < 2.11 feature checks).
            #expect(table[8] == 2...8)
            #expect(table[9] == 1...8)
            #expect(table[10] == 0...4)
            #expect(table[11] == 0...7)
            #expect(table[12] == 0...4)
            #expect(table[13] == 0...4)
            #expect(table[14] == 0...5)
            #expect(table[15] == 0...5)
            #expect(table[16] == 0...4)
            #expect(table[42] == 0...2)
            #expect(table[47] == 0...0)
            #expect(table[22] == 0...4)  // InitProducerId from 0 (librdkafka's idempotence feature check)
            #expect(table[37] == 0...3)
            #expect(table[60] == 0...1)
            #expect(table[32] == 1...4)
            #expect(table[33] == 0...2)
            #expect(table[35] == 0...4)
            #expect(table[44] == 0...1)
            #expect(table[48] == 0...1)  // DescribeClientQuotas (KIP-546)
            #expect(table[49] == 0...1)  // AlterClientQuotas
            #expect(table[43] == 0...2)  // ElectLeaders (KIP-183, KIP-460)
            #expect(table[29] == 0...3)  // DescribeAcls, CreateAcls, DeleteAcls (KIP-140, KIP-290)
            #expect(table[30] == 0...3)
            #expect(table[31] == 0...3)
            #expect(table.count == 37)
        }
    }

    @Test func apiVersionsAboveRangeGetsUnsupportedVersionInV0Layout() async throws {
        try await Self.withRouter { router in
            // KIP-511: the body is not parsed, so garbage after the header is fine.
            let outcome = await router.handle(frame: Self.frame(.apiVersions, 99, body: [0xFF, 0xFF]), context: Self.context)
            guard case .respond(let framed) = outcome else { Issue.record("expected a response"); return }
            var bytes = try framed.joined()
            _ = bytes.readInteger(as: Int32.self)
            #expect(bytes.readInteger(as: Int32.self) == 42)
            #expect(Array(bytes.readableBytesView) == [0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 4])
        }
    }

    @Test func unknownKeysUnsupportedVersionsAndTruncatedBodiesClose() async throws {
        try await Self.withRouter { router in
            for frame in [
                Self.frame(ApiKey(rawValue: 999), 0, body: []),
                Self.frame(.metadata, 99, body: []),
                Self.frame(.fetch, 13, body: []),                  // above the advertised Fetch 0-12
                Self.frame(.fetch, 2, body: []),                   // in range, but no body
                Self.frame(.metadata, 1, body: [0, 0, 0, 5]),     // five topics announced, none sent
                ByteBuffer(bytes: [0, 3, 0]),                      // shorter than a header
                Self.frame(.joinGroup, 8, body: []),               // above the advertised JoinGroup 0-7
                Self.frame(.joinGroup, 5, body: [0, 1, 0x67, 0, 0]),  // group "g", then a truncated session timeout
                Self.frame(.offsetCommit, 2, body: [0, 1, 0x67, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF]),
                                                                   // 2^31-1 topics announced, none sent
            ] {
                guard case .close(let reason) = await router.handle(frame: frame, context: Self.context) else {
                    Issue.record("expected the connection to close"); continue
                }
                #expect(!reason.isEmpty)
            }
        }
    }

    /// Sends `request` in `version` through the router and decodes the framed response.
    static func roundTrip<R: KafkaRequest>(_ router: RequestRouter, _ request: R, version: Int16) async throws -> R.Response {
        var body = KafkaWriter(flexible: R.apiKey.isFlexible(version))
        request.encode(to: &body, version: version)
        let outcome = await router.handle(frame: Self.frame(R.apiKey, version, body: Array(body.buffer.readableBytesView)),
                                          context: Self.context)
        guard case .respond(let framed) = outcome else { throw ProtocolError.invalid("expected a response, got \(outcome)") }
        var bytes = try framed.joined()
        #expect(bytes.readInteger(as: Int32.self) == Int32(bytes.readableBytes))
        var header = bytes
        _ = try ResponseHeader.decode(from: &header, version: R.apiKey.responseHeaderVersion(version))
        var reader = KafkaReader(header, flexible: R.apiKey.isFlexible(version))
        let response = try R.Response(from: &reader, version: version)
        try reader.expectEnd()
        return response
    }

    @Test(arguments: Int16(0)...2)
    func deleteRecordsMovesTheLowWatermark(version: Int16) async throws {
        try await Self.withRouter { router in
            let created = try await Self.roundTrip(router, CreateTopicsRequest(topics: [.init(name: "dr", numPartitions: 1, replicationFactor: 1)]),
                                                   version: 0)
            #expect(created.topics.first?.errorCode == ErrorCode.none)
            var batch = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
            for i in 0..<5 { batch.append(key: nil, value: ByteBuffer(string: "v\(i)")) }
            let produced = try await Self.roundTrip(router, ProduceRequest(acks: 1, timeoutMs: 1000, topicData: [
                .init(name: "dr", partitionData: [.init(index: 0, records: batch.build())]),
            ]), version: 3)
            #expect(produced.responses.first?.partitionResponses.first?.errorCode == ErrorCode.none)

            // High watermark 5: 3 and -1 (= 5) succeed; 6 and -2 are out of range; unknowns are reported.
            let response = try await Self.roundTrip(router, DeleteRecordsRequest(topics: [
                .init(name: "dr", partitions: [.init(partitionIndex: 0, offset: 3)]),
                .init(name: "dr", partitions: [.init(partitionIndex: 0, offset: 6), .init(partitionIndex: 0, offset: -2)]),
                .init(name: "dr", partitions: [.init(partitionIndex: 0, offset: -1), .init(partitionIndex: 7, offset: 0)]),
                .init(name: "missing", partitions: [.init(partitionIndex: 0, offset: 0)]),
            ], timeoutMs: 1000), version: version)
            #expect(response.topics == [
                .init(name: "dr", partitions: [.init(partitionIndex: 0, lowWatermark: 3)]),
                .init(name: "dr", partitions: [.init(partitionIndex: 0, errorCode: .offsetOutOfRange),
                                               .init(partitionIndex: 0, errorCode: .offsetOutOfRange)]),
                .init(name: "dr", partitions: [.init(partitionIndex: 0, lowWatermark: 5),
                                               .init(partitionIndex: 7, errorCode: .unknownTopicOrPartition)]),
                .init(name: "missing", partitions: [.init(partitionIndex: 0, errorCode: .unknownTopicOrPartition)]),
            ])

            // ListOffsets earliest (-2) now reports the new log start offset.
            let earliest = try await Self.roundTrip(router, ListOffsetsRequest(topics: [
                .init(name: "dr", partitions: [.init(partitionIndex: 0, timestamp: -2)]),
            ]), version: 1)
            #expect(earliest.topics.first?.partitions.first?.offset == 5)
        }
    }
}

/// Client quotas count against the connection's authenticated principal (Kafka's `user` quota
/// entity is `KafkaPrincipal.getName`), not one shared anonymous user.
struct RequestRouterQuotaUserTests {
    @Test func aUserQuotaThrottlesOnlyThatPrincipal() async throws {
        try await RequestRouterTests.withRouter { router in
            var quotas = ClientQuotas()
            quotas.set(ClientQuotaEntity(user: .named("alice"), clientID: nil), key: "producer_byte_rate", value: 1000)
            router.handlers.quotas.replace(quotas)
            let header = RequestHeader(apiKey: .produce, apiVersion: 9, correlationID: 1, clientID: "shared-client")
            var alice = RequestRouterTests.context
            alice.principal = KafkaPrincipal(name: "alice")
            var bob = RequestRouterTests.context
            bob.principal = KafkaPrincipal(name: "bob")
            #expect(router.produceThrottleMs(header: header, frameBytes: 1_000_000, context: RequestRouterTests.context) == 0)
            #expect(router.produceThrottleMs(header: header, frameBytes: 1_000_000, context: bob) == 0)
            #expect(router.produceThrottleMs(header: header, frameBytes: 1_000_000, context: alice) > 0)
        }
    }
}

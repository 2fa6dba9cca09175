import Foundation
import GroupCoordinator
import KafkaProtocol
import Logging
import NIOCore
@testable import RunnelBroker
import Testing

/// The broker's answers when `log.dirs` is low on space or offline (issue 11, Disk): produce gets
/// KAFKA_STORAGE_ERROR, fetches go on (low space) or get KAFKA_STORAGE_ERROR (offline),
/// DescribeLogDirs reports an offline directory's error, and the broker keeps answering the rest.
struct LogDirectoryFailureTests {
    static let context = RequestContext(peer: "test", clientHost: "/127.0.0.1", logger: quietLogger)

    static func withHandlers(_ overrides: [(key: String, value: String)] = [],
                             _ body: (RequestHandlers, Controller) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir async throws in
            let config = try BrokerConfig(overrides: [("log.dirs", dir)] + overrides)
            let controller = try Controller(config: config, logger: quietLogger)
            let groups = GroupCoordinator(partitionCount: 1, store: ConsumerOffsetsStore(controller: controller), limits: GroupLimits(),
                                          logger: quietLogger)
            let handlers = RequestHandlers(controller: controller, groups: groups, config: config, advertised: try config.advertisedListeners[0],
                                           nodeID: 1, clusterID: controller.clusterID, logger: quietLogger)
            let created = await controller.createTopic(name: "t", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
            #expect(created.errorCode == .none)
            try await body(handlers, controller)
            await controller.shutdown()
        }
    }

    static func produce(_ handlers: RequestHandlers, value: String) async -> ProduceResponse.PartitionResponse {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        builder.append(key: nil, value: ByteBuffer(string: value))
        let request = ProduceRequest(acks: -1, timeoutMs: 1000, topicData: [.init(name: "t", partitionData: [.init(index: 0, records: builder.build())])])
        let response = await handlers.produce(request, version: 9, context: context)
        return response.responses[0].partitionResponses[0]
    }

    static func fetch(_ handlers: RequestHandlers) async -> FetchResponse.PartitionData {
        let request = FetchRequest(maxWaitMs: 0, minBytes: 0, topics: [.init(topic: "t", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])])
        let response = await handlers.fetch(request, version: 11)
        return response.responses[0].partitions[0]
    }

    @Test func offlineDirectoryAnswersStorageErrorAndTheBrokerKeepsServing() async throws {
        try await Self.withHandlers { handlers, controller in
            #expect(await Self.produce(handlers, value: "before").errorCode == .none)
            controller.logDirectories[0].health.markOffline(reason: "write 00000000000000000000.log: EIO (injected)")

            let produced = await Self.produce(handlers, value: "after")
            #expect(produced.errorCode == .kafkaStorageError)
            #expect(produced.errorCode.isRetriable)
            #expect(await Self.fetch(handlers).errorCode == .kafkaStorageError)
            let dirs = await handlers.describeLogDirs(DescribeLogDirsRequest(topics: nil), version: 4)
            #expect(dirs.results.map(\.errorCode) == [.kafkaStorageError])
            #expect(dirs.results[0].topics.isEmpty)
            // Everything not stored in the directory still answers.
            let metadata = await handlers.metadata(MetadataRequest(topics: nil), version: 9)
            #expect(metadata.topics.map(\.name) == ["t"])
        }
    }

    @Test func lowSpaceRefusesProduceAndServesFetch() async throws {
        try await Self.withHandlers { handlers, controller in
            #expect(await Self.produce(handlers, value: "before").errorCode == .none)
            controller.logDirectories[0].health.setMinFreeBytes(1 << 62)
            let produced = await Self.produce(handlers, value: "refused")
            #expect(produced.errorCode == .kafkaStorageError)
            #expect(produced.errorMessage?.contains("runnel.log.dir.min.free.bytes") == true)
            let fetched = await Self.fetch(handlers)
            #expect(fetched.errorCode == .none)
            #expect(fetched.highWatermark == 1)
            #expect(fetched.records.readableBytes > 0)
            let dirs = await handlers.describeLogDirs(DescribeLogDirsRequest(topics: nil), version: 4)
            #expect(dirs.results.map(\.errorCode) == [.none])

            controller.logDirectories[0].health.setMinFreeBytes(1)
            #expect(await Self.produce(handlers, value: "resumed").baseOffset == 1)
        }
    }
}

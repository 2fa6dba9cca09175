import Foundation
import GroupCoordinator
import KafkaProtocol
import LogStorage
import NIOCore
@testable import RunnelBroker
import SystemPackage
import Testing

/// Several `log.dirs` (JBOD, issue 11): placement of new partitions, a partition found twice, and
/// each directory failing on its own.
@Suite struct LogDirectoryPlacementTests {
    @Test func newPartitionsGoToTheDirectoryWithTheFewestTiesByOrder() {
        var placement = LogDirectoryPlacement(directoryCount: 3)
        let online = [true, true, true]
        #expect(placement.place("t-0", online: online) == 0)
        #expect(placement.place("t-1", online: online) == 1)
        #expect(placement.place("t-2", online: online) == 2)
        #expect(placement.place("t-3", online: online) == 0)
        // A partition already placed stays where it is.
        #expect(placement.place("t-1", online: online) == 1)
        #expect(placement.counts == [2, 1, 1])
        placement.remove("t-0")
        placement.remove("t-3")
        #expect(placement.place("u-0", online: online) == 0)
    }

    @Test func existingPartitionsCountAndOfflineDirectoriesTakeNothing() {
        var placement = LogDirectoryPlacement(directoryCount: 3, placements: ["a-0": 0, "a-1": 0, "b-0": 2])
        #expect(placement.place("c-0", online: [true, true, true]) == 1)
        #expect(placement.place("c-1", online: [true, false, true]) == 2)
        #expect(placement.place("c-2", online: [false, false, false]) == nil)
        // A partition in an offline directory is still there.
        #expect(placement.place("a-1", online: [false, false, false]) == 0)
    }

    @Test func partitionDirectoryNames() {
        #expect(LogDirectoryPlacement.isPartitionDirectoryName("orders-0"))
        #expect(LogDirectoryPlacement.isPartitionDirectoryName("my-topic-12"))
        #expect(LogDirectoryPlacement.isPartitionDirectoryName("__consumer_offsets-49"))
        #expect(!LogDirectoryPlacement.isPartitionDirectoryName("__cluster_metadata-0"))
        #expect(!LogDirectoryPlacement.isPartitionDirectoryName("orders-0.AAAAAAAAAAAAAAAAAAAAAA-delete"))
        #expect(!LogDirectoryPlacement.isPartitionDirectoryName(".lock"))
        #expect(!LogDirectoryPlacement.isPartitionDirectoryName("meta.properties"))
        #expect(!LogDirectoryPlacement.isPartitionDirectoryName("orders-"))
    }

    @Test func scanFindsEachPartitionAndRefusesTwoCopies() throws {
        try withTemporaryDirectory { root throws in
            let a = FilePath("\(root)/a"), b = FilePath("\(root)/b")
            for path in ["\(root)/a/t-0", "\(root)/b/t-1", "\(root)/b/.hidden-0", "\(root)/a/__cluster_metadata-0"] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            let placement = try LogDirectoryPlacement.scan([a, b])
            #expect(placement.directory(of: "t-0") == 0)
            #expect(placement.directory(of: "t-1") == 1)
            #expect(placement.counts == [1, 1])

            try FileManager.default.createDirectory(atPath: "\(root)/b/t-0", withIntermediateDirectories: true)
            let error = #expect(throws: LogDirectoryPlacement.DuplicatePartitionError.self) { try LogDirectoryPlacement.scan([a, b]) }
            #expect(error?.partition == "t-0")
            #expect(error?.description.contains("\(root)/a") == true)
            #expect(error?.description.contains("\(root)/b") == true)
        }
    }

    @Test func configListsDirectoriesAndRefusesRepeats() throws {
        let config = try BrokerConfig(overrides: [("log.dirs", "/x/a, /x/b,/x/c")])
        #expect(config.logDirectories == ["/x/a", "/x/b", "/x/c"])
        #expect(config.metadataLogDirectory == "/x/a")
        #expect(config.allLogDirectories == ["/x/a", "/x/b", "/x/c"])
        #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [("log.dirs", "/x/a,/x/b/,/x/./b")]) }
        let single = try BrokerConfig(overrides: [("log.dir", "/x/only")])
        #expect(single.logDirectories == ["/x/only"])
        let both = try BrokerConfig(overrides: [("log.dir", "/x/only"), ("log.dirs", "/x/a")])
        #expect(both.logDirectories == ["/x/a"])
        let separate = try BrokerConfig(overrides: [("log.dirs", "/x/a,/x/b"), ("metadata.log.dir", "/x/meta")])
        #expect(separate.allLogDirectories == ["/x/a", "/x/b", "/x/meta"])
    }
}

/// A standalone broker with two log directories: what each holds, and one failing while the other serves.
struct LogDirectoriesBrokerTests {
    static let context = RequestContext(peer: "test", clientHost: "/127.0.0.1", logger: quietLogger)

    static func withBroker(_ root: String, _ body: (RequestHandlers, Controller) async throws -> Void) async throws {
        let config = try BrokerConfig(overrides: [("log.dirs", "\(root)/a,\(root)/b")])
        let controller = try Controller(config: config, logger: quietLogger)
        let groups = GroupCoordinator(partitionCount: 1, store: ConsumerOffsetsStore(controller: controller), limits: GroupLimits(),
                                      logger: quietLogger)
        let handlers = RequestHandlers(controller: controller, groups: groups, config: config, advertised: try config.advertisedListeners[0],
                                       nodeID: 1, clusterID: controller.clusterID, logger: quietLogger)
        try await body(handlers, controller)
        await controller.shutdown()
    }

    static func produce(_ handlers: RequestHandlers, partition: Int32, value: String) async -> ProduceResponse.PartitionResponse {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        builder.append(key: nil, value: ByteBuffer(string: value))
        let request = ProduceRequest(acks: -1, timeoutMs: 1000,
                                     topicData: [.init(name: "t", partitionData: [.init(index: partition, records: builder.build())])])
        return await handlers.produce(request, version: 9, context: context).responses[0].partitionResponses[0]
    }

    static func fetch(_ handlers: RequestHandlers, partition: Int32) async -> FetchResponse.PartitionData {
        let request = FetchRequest(maxWaitMs: 0, minBytes: 0, topics: [
            .init(topic: "t", partitions: [.init(partition: partition, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
        ])
        return await handlers.fetch(request, version: 11).responses[0].partitions[0]
    }

    static func latestOffset(_ handlers: RequestHandlers, partition: Int32) async -> ListOffsetsResponse.Partition {
        let request = ListOffsetsRequest(topics: [.init(name: "t", partitions: [.init(partitionIndex: partition, timestamp: -1)])])
        return await handlers.listOffsets(request, version: 1).topics[0].partitions[0]
    }

    static func metaProperties(_ dir: String) throws -> [String: String] {
        let text = try String(contentsOfFile: "\(dir)/meta.properties", encoding: .utf8)
        return Dictionary(try BrokerConfig.parseProperties(text, path: dir).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    @Test func partitionsSpreadAndStayInTheirDirectoryAcrossRestarts() async throws {
        try await withTemporaryDirectory { root async throws in
            try await Self.withBroker(root) { handlers, controller in
                let created = await controller.createTopic(name: "t", numPartitions: 4, replicationFactor: 1, configs: [], validateOnly: false)
                #expect(created.errorCode == .none)
                for p in Int32(0)..<4 { #expect(await Self.produce(handlers, partition: p, value: "v\(p)").errorCode == .none) }
                let dirs = await handlers.describeLogDirs(DescribeLogDirsRequest(topics: nil), version: 4)
                #expect(dirs.results.count == 2)
                #expect(dirs.results.map(\.errorCode) == [.none, .none])
                #expect(dirs.results.map { $0.topics.flatMap(\.partitions).count } == [2, 2])
            }
            let a = try Set(FileManager.default.contentsOfDirectory(atPath: "\(root)/a").filter { $0.hasPrefix("t-") })
            let b = try Set(FileManager.default.contentsOfDirectory(atPath: "\(root)/b").filter { $0.hasPrefix("t-") })
            #expect(a == ["t-0", "t-2"])
            #expect(b == ["t-1", "t-3"])
            // Each directory has its own meta.properties, marker and checkpoints, naming only its partitions.
            let metaA = try Self.metaProperties("\(root)/a"), metaB = try Self.metaProperties("\(root)/b")
            #expect(metaA["cluster.id"] == metaB["cluster.id"])
            #expect(metaA["node.id"] == metaB["node.id"])
            #expect(metaA["directory.id"] != nil && metaA["directory.id"] != metaB["directory.id"])
            #expect(FileManager.default.fileExists(atPath: "\(root)/a/.kafka_cleanshutdown"))
            #expect(FileManager.default.fileExists(atPath: "\(root)/b/.kafka_cleanshutdown"))
            #expect(FileManager.default.fileExists(atPath: "\(root)/a/__cluster_metadata-0"))
            #expect(!FileManager.default.fileExists(atPath: "\(root)/b/__cluster_metadata-0"))
            let recoveryB = try OffsetCheckpointFile.read(directory: FilePath("\(root)/b"), name: OffsetCheckpointFile.recoveryPoint)
            #expect(Set(recoveryB.keys) == ["t-1", "t-3"])

            // A new topic after the restart fills the directories evenly again; old partitions stay put.
            try await Self.withBroker(root) { handlers, controller in
                #expect(await controller.logDirectory(of: TopicPartition("t", 0))?.path == FilePath("\(root)/a"))
                #expect(await controller.logDirectory(of: TopicPartition("t", 1))?.path == FilePath("\(root)/b"))
                for p in Int32(0)..<4 { #expect(await Self.fetch(handlers, partition: p).highWatermark == 1) }
                _ = await controller.createTopic(name: "u", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
                #expect(await controller.logDirectory(of: TopicPartition("u", 0))?.path == FilePath("\(root)/a"))
            }
        }
    }

    @Test func offlineDirectoryFailsItsPartitionsOnlyAndIsReportedAlone() async throws {
        try await withTemporaryDirectory { root async throws in
            try await Self.withBroker(root) { handlers, controller in
                _ = await controller.createTopic(name: "t", numPartitions: 2, replicationFactor: 1, configs: [], validateOnly: false)
                #expect(await Self.produce(handlers, partition: 0, value: "a").errorCode == .none)
                #expect(await Self.produce(handlers, partition: 1, value: "b").errorCode == .none)
                controller.logDirectories[0].health.markOffline(reason: "write 00000000000000000000.log: EIO (injected)")
                #expect(controller.offlineDirectoryIDs == [controller.logDirectories[0].directoryID])

                // t-0 lives in the offline directory.
                #expect(await Self.produce(handlers, partition: 0, value: "a2").errorCode == .kafkaStorageError)
                #expect(await Self.fetch(handlers, partition: 0).errorCode == .kafkaStorageError)
                #expect(await Self.latestOffset(handlers, partition: 0).errorCode == .kafkaStorageError)
                // t-1 in the other keeps serving.
                #expect(await Self.produce(handlers, partition: 1, value: "b2").baseOffset == 1)
                let fetched = await Self.fetch(handlers, partition: 1)
                #expect(fetched.errorCode == .none)
                #expect(fetched.highWatermark == 2)
                #expect(await Self.latestOffset(handlers, partition: 1).offset == 2)

                let dirs = await handlers.describeLogDirs(DescribeLogDirsRequest(topics: nil), version: 4)
                #expect(dirs.results.map(\.errorCode) == [.kafkaStorageError, .none])
                #expect(dirs.results[0].topics.isEmpty)
                #expect(dirs.results[1].topics.flatMap(\.partitions).map(\.partitionIndex) == [1])

                let gauges = await controller.logDirectoryGauges()
                let offline = gauges.filter { $0.name == "runnel_log_dir_offline" }.map { ($0.labels[0].1, $0.value) }
                #expect(offline.map(\.0) == ["\(root)/a", "\(root)/b"])
                #expect(offline.map(\.1) == [1, 0])

                // A new partition goes to the directory still online.
                _ = await controller.createTopic(name: "n", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
                #expect(await controller.logDirectory(of: TopicPartition("n", 0))?.path == FilePath("\(root)/b"))
            }
            // The offline directory got no clean-shutdown marker (its partitions are recovered next time).
            #expect(!FileManager.default.fileExists(atPath: "\(root)/a/.kafka_cleanshutdown"))
            #expect(FileManager.default.fileExists(atPath: "\(root)/b/.kafka_cleanshutdown"))
        }
    }

    @Test func lowSpaceInOneDirectoryRefusesProduceThereOnly() async throws {
        try await withTemporaryDirectory { root async throws in
            try await Self.withBroker(root) { handlers, controller in
                _ = await controller.createTopic(name: "t", numPartitions: 2, replicationFactor: 1, configs: [], validateOnly: false)
                controller.logDirectories[1].health.setMinFreeBytes(1 << 62)
                #expect(await Self.produce(handlers, partition: 0, value: "a").errorCode == .none)
                let refused = await Self.produce(handlers, partition: 1, value: "b")
                #expect(refused.errorCode == .kafkaStorageError)
                #expect(refused.errorMessage?.contains("\(root)/b") == true)
                #expect(await Self.fetch(handlers, partition: 1).errorCode == .none)
            }
        }
    }

    @Test func aPartitionInTwoDirectoriesStopsTheStart() async throws {
        try await withTemporaryDirectory { root async throws in
            try await Self.withBroker(root) { _, controller in
                _ = await controller.createTopic(name: "t", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
            }
            try FileManager.default.copyItem(atPath: "\(root)/a/t-0", toPath: "\(root)/b/t-0")
            let config = try BrokerConfig(overrides: [("log.dirs", "\(root)/a,\(root)/b")])
            #expect(throws: LogDirectoryPlacement.DuplicatePartitionError.self) { try Controller(config: config, logger: quietLogger) }
        }
    }

    @Test func aCopiedDirectoryIDIsRefused() async throws {
        try await withTemporaryDirectory { root async throws in
            try await Self.withBroker(root) { _, _ in }
            try FileManager.default.removeItem(atPath: "\(root)/b/meta.properties")
            try FileManager.default.copyItem(atPath: "\(root)/a/meta.properties", toPath: "\(root)/b/meta.properties")
            let config = try BrokerConfig(overrides: [("log.dirs", "\(root)/a,\(root)/b")])
            #expect(throws: ConfigError.self) { try Controller(config: config, logger: quietLogger) }
        }
    }
}

/// A cluster broker with two log directories: replicas in an offline directory stop following.
struct LogDirectoriesClusterTests {
    @Test func replicasInAnOfflineDirectoryStopFetching() async throws {
        try await withTemporaryDirectory { root async throws in
            let controller = try Controller(config: try BrokerConfig(overrides: [
                ("log.dirs", "\(root)/a,\(root)/b"), ("node.id", "3"), ("process.roles", "broker,controller"),
                ("listeners", "PLAINTEXT://localhost:0,CONTROLLER://localhost:0"),
                ("controller.quorum.voters", "1@localhost:1,2@localhost:2,3@localhost:3"),
            ]), logger: quietLogger)
            let t = UUIDBytes.random()
            await controller.publish([ClusterControllerTests.register(1), ClusterControllerTests.register(2),
                                      ClusterControllerTests.register(3), .topic(name: "t", topicID: t)]
                                     + (Int32(0)..<2).map {
                                         .partition(.init(partitionID: $0, topicID: t, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1,
                                                          leaderEpoch: 0, partitionEpoch: 0))
                                     })
            #expect(await controller.logDirectory(of: TopicPartition("t", 0))?.path.string == "\(root)/a")
            #expect(await controller.logDirectory(of: TopicPartition("t", 1))?.path.string == "\(root)/b")
            #expect(Set(await controller.followedPartitions().map(\.0.partition)) == [0, 1])
            #expect(controller.offlineDirectoryIDs.isEmpty)

            controller.logDirectories[0].health.markOffline(reason: "read 00000000000000000000.log: EIO (injected)")
            await controller.maybeHandleOfflineDirectories()
            #expect(await controller.followedPartitions().map(\.0) == [TopicPartition("t", 1)])
            #expect(await controller.replicaFetchWork(leader: 1, index: 0, of: 1).work.map(\.topicPartition) == [TopicPartition("t", 1)])
            #expect(controller.offlineDirectoryIDs == [controller.logDirectories[0].directoryID])
            #expect(await controller.handledOfflineDirectories == [0])
            await controller.shutdown()
        }
    }
}

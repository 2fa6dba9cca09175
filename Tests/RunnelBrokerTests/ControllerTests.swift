import Foundation
import KafkaProtocol
import LogStorage
@testable import RunnelBroker
import SystemPackage
import Testing

/// The controller: topic creation and deletion, their validation, partition directories and restarts.
@Suite struct ControllerTests {
    static func makeController(_ dir: String, _ overrides: [(key: String, value: String)] = []) throws -> Controller {
        try Controller(config: try BrokerConfig(overrides: [("log.dirs", dir)] + overrides), logger: quietLogger)
    }

    /// Entries of `dir` other than the metadata log and meta.properties.
    static func partitionDirectories(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0 != MetadataLog.directoryName && $0 != MetaProperties.fileName && !$0.hasPrefix(".")
                && !$0.hasSuffix("-checkpoint") }
            .sorted()
    }

    @Test func createWithDefaultPartitionCount() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.makeController(dir, [("num.partitions", "3")])
            let result = await controller.createTopic(name: "orders", numPartitions: -1, replicationFactor: -1,
                                                      configs: [], validateOnly: false)
            #expect(result.errorCode == ErrorCode.none)
            #expect(result.errorMessage == nil)
            #expect(result.numPartitions == 3)
            #expect(result.replicationFactor == 1)
            #expect(result.topicID != .zero)
            #expect(result.configs == (try BrokerConfig()).topicDefaults)
            #expect(result.overriddenKeys.isEmpty)

            let topic = try #require(await controller.image.topics["orders"])
            #expect(topic.topicID == result.topicID)
            #expect(topic.partitions.keys.sorted() == [0, 1, 2])
            #expect(topic.partitions.values.allSatisfy { $0.leader == 1 && $0.replicas == [1] && $0.isr == [1] && $0.leaderEpoch == 0 })
            #expect(try Self.partitionDirectories(dir) == ["orders-0", "orders-1", "orders-2"])
            for p in 0..<3 {
                let partitionDir = "\(dir)/orders-\(p)"
                #expect(try readText("\(partitionDir)/partition.metadata") == "version: 0\ntopic_id: \(result.topicID)\n")
                #expect(fileExists("\(partitionDir)/00000000000000000000.log"))
                #expect(await controller.partition(TopicPartition("orders", Int32(p))) != nil)
            }
            #expect(await controller.partition(TopicPartition("orders", 3)) == nil)
            await controller.shutdown()
        }
    }

    @Test func explicitPartitionsAndConfigs() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.makeController(dir)
            let result = await controller.createTopic(
                name: "events", numPartitions: 2, replicationFactor: 1,
                configs: [(name: "segment.bytes", value: "1048576"), (name: "message.timestamp.type", value: "LogAppendTime"),
                          (name: "max.message.bytes", value: nil)],
                validateOnly: false)
            #expect(result.errorCode == ErrorCode.none)
            #expect(result.numPartitions == 2)
            #expect(result.configs["segment.bytes"] == "1048576")
            #expect(result.configs["message.timestamp.type"] == "LogAppendTime")
            #expect(result.configs["max.message.bytes"] == "1048588", "a null value keeps the default")
            #expect(result.overriddenKeys == ["segment.bytes", "message.timestamp.type"])
            #expect(await controller.image.topics["events"]?.configs
                    == ["segment.bytes": "1048576", "message.timestamp.type": "LogAppendTime"])
            await controller.shutdown()
        }
    }

    struct FailureCase: Sendable, CustomTestStringConvertible {
        var name: String
        var partitions: Int32 = 1
        var replicationFactor: Int16 = 1
        var configs: [String: String?] = [:]
        var expected: ErrorCode
        var testDescription: String { "\(name) p=\(partitions) rf=\(replicationFactor) \(configs) → \(expected)" }
    }

    @Test(arguments: [
        FailureCase(name: "existing", expected: .topicAlreadyExists),
        FailureCase(name: "bad name", expected: .invalidTopicException),
        FailureCase(name: "", expected: .invalidTopicException),
        FailureCase(name: "..", expected: .invalidTopicException),
        FailureCase(name: "__cluster_metadata", expected: .invalidTopicException),
        FailureCase(name: "__consumer_offsets", expected: .invalidRequest),   // internal: only the broker creates it
        FailureCase(name: "my.topic", expected: .invalidTopicException),      // collides with my_topic ('.' vs '_')
        FailureCase(name: "t", partitions: 0, expected: .invalidPartitions),
        FailureCase(name: "t", partitions: -2, expected: .invalidPartitions),
        FailureCase(name: "t", replicationFactor: 2, expected: .invalidReplicationFactor),
        FailureCase(name: "t", replicationFactor: 0, expected: .invalidReplicationFactor),
        FailureCase(name: "t", configs: ["retention.bogus": "1"], expected: .invalidConfig),
        FailureCase(name: "t", configs: ["log.segment.bytes": "1000"], expected: .invalidConfig),  // a broker key
        FailureCase(name: "t", configs: ["segment.bytes": "abc"], expected: .invalidConfig),
        FailureCase(name: "t", configs: ["segment.bytes": "13"], expected: .invalidConfig),
        FailureCase(name: "t", configs: ["message.timestamp.type": "Bogus"], expected: .invalidConfig),
    ])
    func createFailures(_ c: FailureCase) async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.makeController(dir)
            let existing = await controller.createTopic(name: "existing", numPartitions: 1, replicationFactor: 1,
                                                        configs: [], validateOnly: false)
            #expect(existing.errorCode == ErrorCode.none)
            let underscored = await controller.createTopic(name: "my_topic", numPartitions: 1, replicationFactor: 1,
                                                           configs: [], validateOnly: false)
            #expect(underscored.errorCode == ErrorCode.none)
            let imageBefore = await controller.image
            let directoriesBefore = try Self.partitionDirectories(dir)

            let result = await controller.createTopic(name: c.name, numPartitions: c.partitions, replicationFactor: c.replicationFactor,
                                                      configs: c.configs.map { (name: $0.key, value: $0.value) }, validateOnly: false)
            #expect(result.errorCode == c.expected)
            #expect(result.errorMessage?.isEmpty == false)
            #expect(result.topicID == .zero)
            #expect(await controller.image == imageBefore)
            #expect(try Self.partitionDirectories(dir) == directoriesBefore)
            await controller.shutdown()
        }
    }

    @Test func validateOnlyCreatesNothing() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.makeController(dir)
            let check = await controller.createTopic(name: "dry", numPartitions: 4, replicationFactor: -1,
                                                     configs: [(name: "segment.bytes", value: "2048")], validateOnly: true)
            #expect(check.errorCode == ErrorCode.none)
            #expect(check.numPartitions == 4)
            #expect(check.topicID == .zero)
            #expect(check.configs["segment.bytes"] == "2048")
            #expect(await controller.image.topics.isEmpty)
            #expect(try Self.partitionDirectories(dir).isEmpty)
            let invalid = await controller.createTopic(name: "dry", numPartitions: 0, replicationFactor: 1,
                                                       configs: [], validateOnly: true)
            #expect(invalid.errorCode == .invalidPartitions)
            await controller.shutdown()

            // Nothing reached the metadata log either.
            let restarted = try Self.makeController(dir)
            #expect(await restarted.image.topics.isEmpty)
            let real = await restarted.createTopic(name: "dry", numPartitions: 4, replicationFactor: -1, configs: [], validateOnly: false)
            #expect(real.errorCode == ErrorCode.none)
            await restarted.shutdown()
        }
    }

    @Test func topicsSurviveARestart() async throws {
        try await withTemporaryDirectory { dir async throws in
            let first = try Self.makeController(dir)
            let a = await first.createTopic(name: "a", numPartitions: 2, replicationFactor: 1,
                                            configs: [(name: "segment.bytes", value: "1048576"),
                                                      (name: "message.timestamp.type", value: "LogAppendTime")],
                                            validateOnly: false)
            let b = await first.createTopic(name: "b.with_dots-and-dashes", numPartitions: 5, replicationFactor: -1,
                                            configs: [], validateOnly: false)
            #expect(a.errorCode == ErrorCode.none && b.errorCode == ErrorCode.none)
            let image = await first.image
            let clusterID = first.clusterID
            await first.shutdown()

            let second = try Self.makeController(dir)
            #expect(second.clusterID == clusterID)
            let reloaded = await second.image
            #expect(reloaded == image)
            #expect(reloaded.topics["a"]?.topicID == a.topicID)
            #expect(reloaded.topics["a"]?.partitions.count == 2)
            #expect(reloaded.topics["a"]?.configs == ["segment.bytes": "1048576", "message.timestamp.type": "LogAppendTime"])
            #expect(reloaded.topics["b.with_dots-and-dashes"]?.topicID == b.topicID)
            #expect(reloaded.topics["b.with_dots-and-dashes"]?.partitions.count == 5)
            #expect(reloaded.topics["b.with_dots-and-dashes"]?.configs == [:])
            for p: Int32 in 0..<5 { #expect(await second.partition(TopicPartition("b.with_dots-and-dashes", p)) != nil) }
            #expect(await second.createTopic(name: "a", numPartitions: 1, replicationFactor: 1, configs: [],
                                             validateOnly: false).errorCode == .topicAlreadyExists)
            await second.shutdown()
        }
    }

    @Test func differentNodeIDOnTheSameDirectoryIsRefused() async throws {
        try await withTemporaryDirectory { dir async throws in
            let first = try Self.makeController(dir)
            await first.shutdown()
            #expect(throws: ConfigError.self) { try Self.makeController(dir, [("node.id", "2")]) }
        }
    }

    @Test func deleteTopicRemovesDirectoriesAndStaysGone() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.makeController(dir)
            let doomed = await controller.createTopic(name: "doomed", numPartitions: 3, replicationFactor: 1, configs: [], validateOnly: false)
            _ = await controller.createTopic(name: "kept", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
            #expect(try Self.partitionDirectories(dir) == ["doomed-0", "doomed-1", "doomed-2", "kept-0"])

            let (code, message) = await controller.deleteTopic(name: "doomed")
            #expect(code == ErrorCode.none)
            #expect(message == nil)
            #expect(try Self.partitionDirectories(dir) == ["kept-0"], "no <topic>-<p> or -delete directories are left")
            #expect(await controller.image.topics["doomed"] == nil)
            #expect(await controller.image.topic(id: doomed.topicID) == nil)
            #expect(await controller.partition(TopicPartition("doomed", 0)) == nil)
            #expect(await controller.deleteTopic(name: "doomed").0 == .unknownTopicOrPartition)
            await controller.shutdown()

            let restarted = try Self.makeController(dir)
            #expect(await restarted.image.topics.keys.sorted() == ["kept"])
            #expect(try Self.partitionDirectories(dir) == ["kept-0"])
            // The name can be used again, with a new ID.
            let again = await restarted.createTopic(name: "doomed", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
            #expect(again.errorCode == ErrorCode.none)
            #expect(again.topicID != doomed.topicID)
            await restarted.shutdown()

            let third = try Self.makeController(dir)
            #expect(await third.image.topics["doomed"]?.topicID == again.topicID)
            #expect(await third.image.topics["doomed"]?.partitions.count == 1)
            await third.shutdown()
        }
    }

    @Test func leftoverDeleteDirectoriesAreRemovedOnStart() async throws {
        try await withTemporaryDirectory { dir async throws in
            let leftover = "\(dir)/gone-0.AAAAAAAAAAAAAAAAAAAAAA-delete"
            try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
            try "x".write(toFile: "\(leftover)/00000000000000000000.log", atomically: true, encoding: .utf8)
            let controller = try Self.makeController(dir)
            #expect(!fileExists(leftover))
            await controller.shutdown()
        }
    }
}

/// CreatePartitions (KIP-195) against the controller.
struct CreatePartitionsTests {
    @Test func growsATopicAndTheNewPartitionsSurviveARestart() async throws {
        try await withTemporaryDirectory { dir async throws in
            var controller = try ControllerTests.makeController(dir)
            _ = await controller.createTopic(name: "t", numPartitions: 2, replicationFactor: 1, configs: [("retention.ms", "1000")],
                                             validateOnly: false)
            #expect(await controller.createPartitions(topic: "t", count: 5, assignments: nil, validateOnly: true).0 == .none)
            #expect(await controller.image.topics["t"]?.partitions.count == 2)
            #expect(await controller.createPartitions(topic: "t", count: 4, assignments: [[1], [1]], validateOnly: false).0 == .none)
            #expect(await controller.partition(TopicPartition("t", 3)) != nil)
            #expect(await controller.partition(TopicPartition("t", 3))?.logConfig.retentionMs == 1000)
            await controller.shutdown()
            controller = try ControllerTests.makeController(dir)
            #expect(await controller.image.topics["t"]?.partitions.count == 4)
            #expect(await controller.partition(TopicPartition("t", 3)) != nil)
            await controller.shutdown()
        }
    }

    @Test func refusesWhatKafkaRefuses() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try ControllerTests.makeController(dir)
            _ = await controller.createTopic(name: "t", numPartitions: 3, replicationFactor: 1, configs: [], validateOnly: false)
            #expect(await controller.createPartitions(topic: "missing", count: 4, assignments: nil, validateOnly: false).0 == .unknownTopicOrPartition)
            #expect(await controller.createPartitions(topic: "t", count: 3, assignments: nil, validateOnly: false).0 == .invalidPartitions)
            #expect(await controller.createPartitions(topic: "t", count: 2, assignments: nil, validateOnly: false).0 == .invalidPartitions)
            #expect(await controller.createPartitions(topic: "t", count: 5, assignments: [[1]], validateOnly: false).0 == .invalidReplicaAssignment)
            #expect(await controller.createPartitions(topic: "t", count: 4, assignments: [[2]], validateOnly: false).0 == .invalidReplicaAssignment)
            #expect(await controller.image.topics["t"]?.partitions.count == 3)
            await controller.shutdown()
        }
    }
}

import KafkaProtocol
import LogStorage
@testable import RunnelBroker
import Testing

/// Dynamic configs: AlterConfigs / IncrementalAlterConfigs through the controller, applied to live
/// partitions and kept in the metadata log across restarts (KIP-133, KIP-226, KIP-339).
@Suite struct ControllerConfigTests {
    static func error(_ body: () async throws -> Void) async -> ConfigChangeError? {
        do { try await body(); return nil } catch let e as ConfigChangeError { return e } catch { return ConfigChangeError(code: .unknownServerError, message: "\(error)") }
    }

    @Test func incrementalOperationsOnATopic() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try ControllerTests.makeController(dir)
            _ = await controller.createTopic(name: "t", numPartitions: 2, replicationFactor: 1, configs: [("segment.ms", "100000")], validateOnly: false)
            try await controller.alterConfigs(resourceType: 2, resourceName: "t", changes: [
                ConfigChange(name: "retention.ms", operation: .set, value: "5000"),
                ConfigChange(name: "cleanup.policy", operation: .append, value: "compact"),
            ], replaceAll: false, validateOnly: false)
            #expect(await controller.image.topics["t"]?.configs == ["segment.ms": "100000", "retention.ms": "5000", "cleanup.policy": "delete,compact"])
            for p in Int32(0)...1 {
                let config = try #require(await controller.partition(TopicPartition("t", p))?.logConfig)
                #expect(config.retentionMs == 5000 && config.compactEnabled && config.deleteEnabled && config.segmentMs == 100_000)
            }
            try await controller.alterConfigs(resourceType: 2, resourceName: "t", changes: [
                ConfigChange(name: "cleanup.policy", operation: .subtract, value: "delete"),
                ConfigChange(name: "segment.ms", operation: .delete, value: nil),
            ], replaceAll: false, validateOnly: false)
            #expect(await controller.image.topics["t"]?.configs == ["retention.ms": "5000", "cleanup.policy": "compact"])
            // validate_only changes nothing.
            try await controller.alterConfigs(resourceType: 2, resourceName: "t", changes: [ConfigChange(name: "retention.ms", operation: .set, value: "1")],
                                              replaceAll: false, validateOnly: true)
            #expect(await controller.image.topics["t"]?.configs["retention.ms"] == "5000")
            await controller.shutdown()
        }
    }

    @Test func alterConfigsReplacesTheWholeSet() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try ControllerTests.makeController(dir)
            _ = await controller.createTopic(name: "t", numPartitions: 1, replicationFactor: 1,
                                             configs: [("segment.ms", "100000"), ("compression.type", "gzip")], validateOnly: false)
            try await controller.alterConfigs(resourceType: 2, resourceName: "t", changes: [ConfigChange(name: "retention.ms", operation: .set, value: "7")],
                                              replaceAll: true, validateOnly: false)
            #expect(await controller.image.topics["t"]?.configs == ["retention.ms": "7"])
            #expect(await controller.partition(TopicPartition("t", 0))?.appendPolicy.compression == nil)
            await controller.shutdown()
        }
    }

    @Test func refusalsCarryKafkasErrorCodes() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try ControllerTests.makeController(dir)
            _ = await controller.createTopic(name: "t", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
            func alter(_ type: Int8, _ name: String, _ changes: [ConfigChange]) async -> ErrorCode? {
                await Self.error { try await controller.alterConfigs(resourceType: type, resourceName: name, changes: changes, replaceAll: false, validateOnly: false) }?.code
            }
            #expect(await alter(2, "missing", []) == .unknownTopicOrPartition)
            #expect(await alter(2, "t", [ConfigChange(name: "no.such.key", operation: .set, value: "1")]) == .invalidConfig)
            #expect(await alter(2, "t", [ConfigChange(name: "retention.ms", operation: .set, value: "abc")]) == .invalidConfig)
            #expect(await alter(2, "t", [ConfigChange(name: "compression.type", operation: .set, value: "brotli")]) == .invalidConfig)
            #expect(await alter(2, "t", [ConfigChange(name: "retention.ms", operation: .append, value: "1")]) == .invalidConfig)
            #expect(await alter(2, "t", [ConfigChange(name: "retention.ms", operation: .set, value: nil)]) == .invalidRequest)
            #expect(await alter(2, "t", [ConfigChange(name: "retention.ms", operation: .set, value: "1"),
                                          ConfigChange(name: "retention.ms", operation: .delete, value: nil)]) == .invalidRequest)
            #expect(await alter(4, "1", [ConfigChange(name: "num.partitions", operation: .set, value: "3")]) == .invalidRequest)
            #expect(await alter(4, "2", [ConfigChange(name: "log.retention.ms", operation: .set, value: "3")]) == .invalidRequest)
            #expect(await alter(4, "", [ConfigChange(name: "nope", operation: .set, value: "3")]) == .invalidConfig)
            #expect(await alter(7, "x", []) == .invalidRequest)
            // A refused change writes nothing: the whole resource is rejected.
            #expect(await alter(2, "t", [ConfigChange(name: "retention.ms", operation: .set, value: "9"),
                                          ConfigChange(name: "segment.ms", operation: .set, value: "0")]) == .invalidConfig)
            #expect(await controller.image.topics["t"]?.configs == [:])
            await controller.shutdown()
        }
    }

    @Test func dynamicBrokerDefaultsReachPartitionsAndSurviveRestart() async throws {
        try await withTemporaryDirectory { dir async throws in
            do {
                let controller = try ControllerTests.makeController(dir, [("log.retention.ms", "1000")])
                _ = await controller.createTopic(name: "plain", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
                _ = await controller.createTopic(name: "own", numPartitions: 1, replicationFactor: 1, configs: [("retention.ms", "42")], validateOnly: false)
                try await controller.alterConfigs(resourceType: 4, resourceName: "", changes: [
                    ConfigChange(name: "log.retention.ms", operation: .set, value: "2000"),
                    ConfigChange(name: "compression.type", operation: .set, value: "lz4"),
                ], replaceAll: false, validateOnly: false)
                try await controller.alterConfigs(resourceType: 4, resourceName: "1", changes: [ConfigChange(name: "log.retention.ms", operation: .set, value: "3000")],
                                                  replaceAll: false, validateOnly: false)
                #expect(await controller.partition(TopicPartition("plain", 0))?.logConfig.retentionMs == 3000)
                #expect(await controller.partition(TopicPartition("plain", 0))?.appendPolicy.compression == .lz4)
                #expect(await controller.partition(TopicPartition("own", 0))?.logConfig.retentionMs == 42)
                #expect(await controller.config.source("log.retention.ms") == .dynamicBroker)
                await controller.shutdown()
            }
            let restarted = try ControllerTests.makeController(dir, [("log.retention.ms", "1000")])
            #expect(await restarted.partition(TopicPartition("plain", 0))?.logConfig.retentionMs == 3000)
            #expect(await restarted.config.layers("log.retention.ms").map(\.value) == ["3000", "2000", "1000", nil])
            // Removing this broker's value falls back to the cluster-wide default.
            try await restarted.alterConfigs(resourceType: 4, resourceName: "1", changes: [ConfigChange(name: "log.retention.ms", operation: .delete, value: nil)],
                                             replaceAll: false, validateOnly: false)
            #expect(await restarted.partition(TopicPartition("plain", 0))?.logConfig.retentionMs == 2000)
            #expect(await restarted.image.brokerConfigs["1"] == nil)
            await restarted.shutdown()
        }
    }
}

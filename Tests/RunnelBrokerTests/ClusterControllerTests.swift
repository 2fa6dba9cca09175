import Foundation
import KafkaProtocol
@testable import RunnelBroker
import Testing

/// A cluster node's controller applying committed metadata: partitions open only where they are
/// placed, placement balances leadership, fenced brokers get no new partitions.
@Suite struct ClusterControllerTests {
    static func clusterController(_ dir: String, nodeID: Int32 = 1) throws -> Controller {
        try Controller(config: try BrokerConfig(overrides: [
            ("log.dirs", dir), ("node.id", "\(nodeID)"), ("process.roles", "broker,controller"),
            ("listeners", "PLAINTEXT://localhost:0,CONTROLLER://localhost:0"),
            ("controller.quorum.voters", "1@localhost:1,2@localhost:2,3@localhost:3"),
        ]), logger: quietLogger)
    }

    static func register(_ id: Int32, fenced: Bool = false) -> MetadataRecord {
        .registerBroker(.init(brokerID: id, incarnationID: .random(), brokerEpoch: Int64(id), endpoints: [
            .init(name: "PLAINTEXT", host: "localhost", port: UInt16(9000 + id)),
        ], fenced: fenced))
    }

    static func partition(_ p: Int32, topic: UUIDBytes, leader: Int32) -> MetadataRecord {
        .partition(.init(partitionID: p, topicID: topic, replicas: [leader], isr: [leader], leader: leader, leaderEpoch: 0, partitionEpoch: 0))
    }

    @Test func placementBalancesLeadersOverUnfencedBrokers() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.clusterController(dir)
            await controller.publish([Self.register(1), Self.register(2), Self.register(3), Self.register(4, fenced: true)])
            #expect(await controller.placementBrokers == [1, 2, 3])
            #expect(await controller.placeLeaders(count: 6, brokers: [1, 2, 3]) == [1, 2, 3, 1, 2, 3])
            // With broker 1 already leading two partitions, new ones go to 2 and 3 first.
            let topic = UUIDBytes.random()
            await controller.publish([.topic(name: "busy", topicID: topic), Self.partition(0, topic: topic, leader: 1),
                                      Self.partition(1, topic: topic, leader: 1)])
            #expect(await controller.placeLeaders(count: 4, brokers: [1, 2, 3]) == [2, 3, 2, 3])
            #expect(await controller.placeLeaders(count: 2, brokers: []) == [])
            // A cluster node that is not the active controller refuses to write.
            let result = await controller.createTopic(name: "x", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false)
            #expect(result.errorCode == .notController)
            let rf2 = await controller.createTopic(name: "y", numPartitions: 1, replicationFactor: 2, configs: [], validateOnly: false)
            #expect(rf2.errorCode == .invalidReplicationFactor)
            await controller.shutdown()
        }
    }

    @Test func onlyPartitionsPlacedHereAreOpenedAndDeletionRemovesThem() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Self.clusterController(dir, nodeID: 2)
            let topic = UUIDBytes.random()
            await controller.publish([Self.register(1), Self.register(2), .topic(name: "t", topicID: topic),
                                      Self.partition(0, topic: topic, leader: 1), Self.partition(1, topic: topic, leader: 2),
                                      Self.partition(2, topic: topic, leader: 2)])
            #expect(await controller.partition(TopicPartition("t", 0)) == nil)
            #expect(await controller.partition(TopicPartition("t", 1)) != nil)
            #expect(fileExists("\(dir)/t-1") && fileExists("\(dir)/t-2") && !fileExists("\(dir)/t-0"))
            #expect(await controller.missingPartitionError(TopicPartition("t", 0)) == .notLeaderOrFollower)
            #expect(await controller.missingPartitionError(TopicPartition("t", 9)) == .unknownTopicOrPartition)
            #expect(await controller.brokerEndpoint(1)?.port == 9001)
            await controller.publish([.fenceBroker(brokerID: 1, brokerEpoch: 1)])
            #expect(await controller.brokerEndpoint(1) == nil)
            let live2 = await controller.isLive(2)
            let live1 = await controller.isLive(1)
            #expect(live2 && !live1)
            await controller.publish([.removeTopic(topicID: topic)])
            #expect(await controller.partition(TopicPartition("t", 1)) == nil)
            #expect(!fileExists("\(dir)/t-1") && !fileExists("\(dir)/t-2"))
            await controller.shutdown()
        }
    }
}

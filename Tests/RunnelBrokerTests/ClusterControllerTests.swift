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
            // Up to the number of live brokers (3); beyond it INVALID_REPLICATION_FACTOR, checked before the write.
            let rf4 = await controller.createTopic(name: "y", numPartitions: 1, replicationFactor: 4, configs: [], validateOnly: false)
            #expect(rf4.errorCode == .invalidReplicationFactor)
            #expect(await controller.placeReplicas(count: 3, replicationFactor: 3, brokers: [1, 2, 3]).map(\.first) == [2, 3, 2])
            for replicas in await controller.placeReplicas(count: 6, replicationFactor: 2, brokers: [1, 2, 3]) {
                #expect(replicas.count == 2 && Set(replicas).count == 2)
            }
            await controller.shutdown()
        }
    }

    @Test func electionsComeFromTheISRAndPreferTheReplicaOrder() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try ClusterControllerTests.clusterController(dir, nodeID: 3)
            let t = UUIDBytes.random()
            let u = UUIDBytes.random()
            await controller.publish([ClusterControllerTests.register(1), ClusterControllerTests.register(2), ClusterControllerTests.register(3), .topic(name: "t", topicID: t),
                                      .partition(.init(partitionID: 0, topicID: t, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1,
                                                       leaderEpoch: 0, partitionEpoch: 0)),
                                      .partition(.init(partitionID: 1, topicID: t, replicas: [2, 3, 1], isr: [2, 1], leader: 2,
                                                       leaderEpoch: 0, partitionEpoch: 0)),
                                      .topic(name: "u", topicID: u),
                                      .partition(.init(partitionID: 0, topicID: u, replicas: [1, 3], isr: [1], leader: 1,
                                                       leaderEpoch: 0, partitionEpoch: 0))])
            // Broker 1 leaves: t-0 goes to 2 (next in replica order and in the ISR), t-1 keeps its
            // leader and drops 1 from the ISR, u-0 has no in-sync replica left: no leader, ISR kept.
            await controller.publish(await controller.fencingRecords(try #require(await controller.image.brokers[1])))
            var t0 = try #require(await controller.image.topics["t"]?.partitions[0])
            let t1 = try #require(await controller.image.topics["t"]?.partitions[1])
            var u0 = try #require(await controller.image.topics["u"]?.partitions[0])
            #expect(t0.leader == 2 && t0.isr == [2, 3] && t0.leaderEpoch == 1)
            #expect(t1.leader == 2 && t1.isr == [2] && t1.leaderEpoch == 0)
            #expect(u0.leader == -1 && u0.isr == [1])
            // Broker 3 is a replica of u-0 but not in sync: never elected without unclean election.
            #expect(await controller.returningBrokerChanges(3).isEmpty)
            await controller.publish([.config(resourceType: MetadataRecord.topicResourceType, resourceName: "u",
                                              name: "unclean.leader.election.enable", value: "true")])
            #expect(await controller.returningBrokerChanges(3).count == 1)
            // Broker 1 returns: it leads u-0 again; t-0 stays with 2 until 1 is back in its ISR, then
            // the preferred-leader election moves it back.
            await controller.publish([.unfenceBroker(brokerID: 1, brokerEpoch: 1)] + (await controller.returningBrokerChanges(1)))
            u0 = try #require(await controller.image.topics["u"]?.partitions[0])
            #expect(u0.leader == 1 && u0.leaderEpoch == 2)
            #expect(await controller.preferredLeaderChanges().isEmpty)
            await controller.publish([.partitionChange(.init(partitionID: 0, topicID: t, isr: [1, 2, 3]))])
            await controller.publish(await controller.preferredLeaderChanges())
            t0 = try #require(await controller.image.topics["t"]?.partitions[0])
            #expect(t0.leader == 1 && t0.leaderEpoch == 2)
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

/// A one-voter quorum running for real (its own Raft node, store and tick loop): writes commit
/// through it, and the active controller validates ISR changes (AlterPartition).
@Suite struct SingleVoterQuorumTests {
    static func withActiveController(_ body: (Controller) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try Controller(config: try BrokerConfig(overrides: [
                ("log.dirs", dir), ("node.id", "1"), ("process.roles", "broker,controller"),
                ("listeners", "PLAINTEXT://localhost:0,CONTROLLER://localhost:0"),
                ("controller.quorum.voters", "1@localhost:1"), ("controller.quorum.election.timeout.ms", "100"),
            ]), logger: quietLogger)
            let quorum = try #require(controller.quorum)
            let running = Task { await quorum.run { await controller.applyCommitted($0) } }
            // The quorum must stop before the directory goes, whatever happens below: a driver
            // left running would find its files gone and stop the process.
            func stop() async {
                await quorum.shutdownGracefully()
                running.cancel()
                await running.value
                await controller.shutdown()
            }
            // Generous: on a loaded 2-core machine the CPU-bound simulation suites share the pool.
            let deadline = ContinuousClock.now + .seconds(180)
            while !(await controller.isActiveController), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            let active = await controller.isActiveController
            let role = await quorum.role
            let epoch = await quorum.epoch
            #expect(active, "quorum role \(role), epoch \(epoch)")
            do {
                if active { try await body(controller) }
            } catch {
                await stop()
                throw error
            }
            await stop()
        }
    }

    @Test func writesCommitThroughTheQuorumAndSurviveInItsLog() async throws {
        try await Self.withActiveController { controller in
            try await controller.commit([ClusterControllerTests.register(1)])
            let created = await controller.createTopic(name: "q", numPartitions: 2, replicationFactor: 1, configs: [], validateOnly: false)
            #expect(created.errorCode == .none)
            #expect(await controller.image.topics["q"]?.partitions.count == 2)
            #expect(await controller.partition(TopicPartition("q", 1)) != nil)
            let applied = await controller.quorum!.appliedOffset
            #expect(applied >= 3)  // leader change, registration, topic
            #expect(try await controller.allocateProducerID() == 0)
            #expect(try await controller.allocateProducerID() == 1)
        }
    }

    @Test func alterPartitionFollowsKafkasChecks() async throws {
        try await Self.withActiveController { controller in
            let topic = UUIDBytes.random()
            try await controller.commit([ClusterControllerTests.register(1), ClusterControllerTests.register(2),
                                         ClusterControllerTests.register(3), ClusterControllerTests.register(4, fenced: true),
                                         .topic(name: "r", topicID: topic),
                                         .partition(.init(partitionID: 0, topicID: topic, replicas: [1, 2, 3, 4], isr: [1, 2, 3],
                                                          leader: 1, leaderEpoch: 2, partitionEpoch: 5))])
            func request(_ isr: [Int32], broker: Int32 = 1, leaderEpoch: Int32 = 2, partitionEpoch: Int32 = 5,
                         brokerEpoch: Int64 = 1) -> AlterPartitionRequest {
                AlterPartitionRequest(brokerID: broker, brokerEpoch: brokerEpoch, topics: [.init(topicID: topic, partitions: [
                    .init(partitionIndex: 0, leaderEpoch: leaderEpoch, newISR: isr.map { .init(brokerID: $0) }, partitionEpoch: partitionEpoch),
                ])])
            }
            func code(_ r: AlterPartitionRequest, version: Int16 = 2) async -> ErrorCode {
                let response = await controller.alterPartition(r, version: version)
                return response.errorCode != .none ? response.errorCode : response.topics[0].partitions[0].errorCode
            }
            #expect(await code(request([1, 2], brokerEpoch: 99)) == .staleBrokerEpoch)
            #expect(await code(request([1, 2], broker: 2, brokerEpoch: 2)) == .notLeaderOrFollower)
            #expect(await code(request([1, 2], leaderEpoch: 1)) == .fencedLeaderEpoch)
            #expect(await code(request([1, 2], partitionEpoch: 4)) == .invalidUpdateVersion)
            #expect(await code(request([2, 5])) == .invalidRequest)       // without the leader: a step-down, but 5 is no replica
            #expect(await code(request([])) == .invalidRequest)           // without the leader and nobody to lead
            #expect(await code(request([1, 5])) == .invalidRequest)       // not a replica
            #expect(await code(request([1, 4])) == .ineligibleReplica)    // fenced
            let v3 = AlterPartitionRequest(brokerID: 1, brokerEpoch: 1, topics: [.init(topicID: topic, partitions: [
                .init(partitionIndex: 0, leaderEpoch: 2, newISR: [.init(brokerID: 1, brokerEpoch: 1), .init(brokerID: 2, brokerEpoch: 7)],
                      partitionEpoch: 5)])])
            #expect(await code(v3, version: 3) == .ineligibleReplica)    // stale member epoch
            // A valid shrink commits and bumps the partition epoch.
            let response = await controller.alterPartition(request([1, 3]), version: 2)
            let p = try #require(response.topics.first?.partitions.first)
            #expect(p.errorCode == .none && p.isr == [1, 3] && p.partitionEpoch == 6 && p.leaderEpoch == 2)
            #expect(await controller.image.topic(id: topic)?.partitions[0]?.isr == [1, 3])
            // The same proposal again is now stale.
            #expect(await code(request([1, 3])) == .invalidUpdateVersion)
            // Runnel's step-down (a leader whose log failed verification): an ISR without the
            // leader must be a subset of the committed ISR; its first eligible replica leads.
            #expect(await code(request([2], partitionEpoch: 6)) == .invalidRequest)  // 2 left the ISR above
            let stepDown = await controller.alterPartition(request([3], partitionEpoch: 6), version: 2)
            let q = try #require(stepDown.topics.first?.partitions.first)
            #expect(q.errorCode == .none && q.leaderID == 3 && q.leaderEpoch == 3 && q.isr == [3])
            #expect(await controller.image.topic(id: topic)?.partitions[0]?.leader == 3)
        }
    }

    @Test func fencingTakesLeadershipAwayAndUnfencingGivesItBackInANewEpoch() async throws {
        try await Self.withActiveController { controller in
            try await controller.commit([ClusterControllerTests.register(1)])
            #expect(await controller.createTopic(name: "f", numPartitions: 1, replicationFactor: 1, configs: [], validateOnly: false).errorCode == .none)
            let broker = try #require(await controller.image.brokers[1])
            try await controller.commit(await controller.fencingRecords(broker))
            var p = try #require(await controller.image.topics["f"]?.partitions[0])
            #expect(p.leader == -1 && p.leaderEpoch == 1 && p.isr == [1])
            try await controller.commit(await controller.unfencingRecords(try #require(await controller.image.brokers[1])))
            p = try #require(await controller.image.topics["f"]?.partitions[0])
            #expect(p.leader == 1 && p.leaderEpoch == 2)
            // The hosted replica took the new epoch: an older one is fenced.
            let partition = try #require(await controller.partition(TopicPartition("f", 0)))
            #expect(await partition.leaderEpoch == 2)
            #expect(await partition.checkLeaderEpoch(1) == .fencedLeaderEpoch)
        }
    }

    @Test func aSecondLiveProcessWithTheSameIDIsRefused() async throws {
        try await Self.withActiveController { controller in
            func registration(_ incarnation: UUIDBytes) -> BrokerRegistrationRequest {
                BrokerRegistrationRequest(brokerID: 7, clusterID: controller.clusterID, incarnationID: incarnation,
                                          listeners: [.init(name: "PLAINTEXT", host: "localhost", port: 9999)], features: [])
            }
            let first = UUIDBytes.random()
            let epoch = try await controller.registerBroker(registration(first))
            let applied = await controller.quorum!.appliedOffset
            let heartbeat = await controller.brokerHeartbeat(BrokerHeartbeatRequest(brokerID: 7, brokerEpoch: epoch,
                                                                                    currentMetadataOffset: applied,
                                                                                    wantFence: false, wantShutDown: false))
            #expect(heartbeat.errorCode == .none && !heartbeat.isFenced)
            await #expect {
                _ = try await controller.registerBroker(registration(UUIDBytes.random()))
            } throws: { ($0 as? ControllerWriteError)?.code == .duplicateBrokerRegistration }
            // The same incarnation may register again (a retried request).
            _ = try await controller.registerBroker(registration(first))
        }
    }
}

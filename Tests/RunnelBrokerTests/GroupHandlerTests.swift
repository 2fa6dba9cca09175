import Foundation
import GroupCoordinator
import KafkaProtocol
import Logging
import NIOCore
@testable import RunnelBroker
import Testing

/// The group APIs through the broker's handlers, over real partition logs: `__consumer_offsets`
/// is created on FindCoordinator, commits land in it, and a restarted broker loads them back.
struct GroupHandlerTests {
    struct Node {
        let controller: Controller
        let groups: GroupCoordinator
        let handlers: RequestHandlers
    }

    static func start(_ dir: String, overrides: [(String, String)] = []) async throws -> Node {
        let config = try BrokerConfig(overrides: [("log.dirs", dir), ("offsets.topic.replication.factor", "1"),
                                                  ("offsets.topic.num.partitions", "3"), ("group.initial.rebalance.delay.ms", "0"),
                                                  ("group.min.session.timeout.ms", "100")] + overrides)
        let controller = try Controller(config: config, logger: quietLogger)
        let existing = await controller.image.topics[TopicName.consumerOffsets]
        let groups = GroupCoordinator(partitionCount: Int32(existing?.partitions.count ?? 3),
                                      store: ConsumerOffsetsStore(controller: controller), limits: GroupLimits(), logger: quietLogger)
        if let existing { await groups.load(partitions: existing.partitions.keys.sorted()) }
        let handlers = RequestHandlers(controller: controller, groups: groups, config: config,
                                       advertised: try config.advertisedListeners[0], nodeID: 1,
                                       clusterID: controller.clusterID, logger: quietLogger)
        return Node(controller: controller, groups: groups, handlers: handlers)
    }

    static func client(_ version: Int16) -> ClientInfo { ClientInfo(version: version, clientID: "test-client", clientHost: "/127.0.0.1") }

    /// Runs a held request while ticking the coordinator's timers, as the broker's timer task does.
    static func whileTicking<T: Sendable>(_ groups: GroupCoordinator, _ body: @escaping @Sendable () async -> T) async -> T {
        let task = Task { await body() }
        let ticker = Task {
            while !Task.isCancelled {
                await groups.tick()
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let result = await task.value
        ticker.cancel()
        return result
    }

    @Test func findCoordinatorCreatesTheInternalOffsetsTopic() async throws {
        try await withTemporaryDirectory { dir in
            let node = try await Self.start(dir)
            let found = await node.handlers.findCoordinator(FindCoordinatorRequest(keyType: 0, coordinatorKeys: ["a", "b"]), client: Self.client(4))
            #expect(found.coordinators.map(\.key) == ["a", "b"])
            #expect(found.coordinators.allSatisfy { $0.errorCode == .none && $0.nodeID == 1 && $0.port == 9092 })
            let metadata = await node.handlers.metadata(MetadataRequest(topics: nil, allowAutoTopicCreation: false), version: 12)
            let offsets = try #require(metadata.topics.first { $0.name == TopicName.consumerOffsets })
            #expect(offsets.isInternal)
            #expect(offsets.partitions.count == 3)
            let create = await node.handlers.createTopics(
                CreateTopicsRequest(topics: [.init(name: TopicName.consumerOffsets, numPartitions: 1, replicationFactor: 1)], timeoutMs: 1000),
                client: ClientInfo(version: 5, clientID: "test", clientHost: "127.0.0.1"))
            #expect(create.topics.first?.errorCode == .invalidRequest)
            // Only the coordinator writes its topic (Kafka: "Cannot append to internal topic").
            var batch = RecordBatchBuilder(baseTimestamp: 0)
            batch.append(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))
            let produced = await node.handlers.produce(
                ProduceRequest(acks: 1, timeoutMs: 1000, topicData: [.init(name: TopicName.consumerOffsets, partitionData: [.init(index: 0, records: batch.build())])]),
                version: 8, context: RequestRouterTests.context)
            #expect(produced.responses.first?.partitionResponses.first?.errorCode == .invalidTopicException)
            let trimmed = await node.handlers.deleteRecords(
                DeleteRecordsRequest(topics: [.init(name: TopicName.consumerOffsets, partitions: [.init(partitionIndex: 0, offset: -1)])], timeoutMs: 1000),
                version: 2)
            #expect(trimmed.topics.first?.partitions.first?.errorCode == .invalidTopicException)
            let transactional = await node.handlers.findCoordinator(FindCoordinatorRequest(key: "tx", keyType: 1), client: Self.client(2))
            #expect(transactional.errorCode == .none && transactional.nodeID == 1)
            let initTransactional = await node.handlers.initProducerID(InitProducerIDRequest(transactionalID: "tx", transactionTimeoutMs: 60_000),
                                                                      version: 4)
            #expect(initTransactional.errorCode == .transactionalIDAuthorizationFailed)
            #expect(initTransactional.producerID == -1)
            let first = await node.handlers.initProducerID(InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: 60_000), version: 0)
            let second = await node.handlers.initProducerID(InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: 60_000), version: 4)
            #expect(first.errorCode == .none && second.errorCode == .none)
            #expect(first.producerEpoch == 0 && second.producerID == first.producerID + 1)
            await node.controller.shutdown()
        }
    }

    /// Kafka's `storeOffsets` error mapping for failed `__consumer_offsets` appends.
    @Test func appendErrorsMapToTheCodesGroupClientsHandle() {
        #expect(ConsumerOffsetsStore.groupErrorCode(for: .messageTooLarge) == .invalidCommitOffsetSize)
        #expect(ConsumerOffsetsStore.groupErrorCode(for: .recordListTooLarge) == .invalidCommitOffsetSize)
        #expect(ConsumerOffsetsStore.groupErrorCode(for: .kafkaStorageError) == .notCoordinator)
        #expect(ConsumerOffsetsStore.groupErrorCode(for: .notLeaderOrFollower) == .notCoordinator)
        #expect(ConsumerOffsetsStore.groupErrorCode(for: .unknownServerError) == .coordinatorNotAvailable)
    }

    @Test func offsetsTopicReplicationFactorAboveTheBrokerCountIsReported() async throws {
        try await withTemporaryDirectory { dir in
            let node = try await Self.start(dir, overrides: [("offsets.topic.replication.factor", "3")])
            let found = await node.handlers.findCoordinator(FindCoordinatorRequest(key: "g", keyType: 0), client: Self.client(1))
            #expect(found.errorCode == .coordinatorNotAvailable)
            #expect(found.errorMessage?.contains("offsets.topic.replication.factor") == true)
            #expect(await node.controller.image.topics[TopicName.consumerOffsets] == nil)
            await node.controller.shutdown()
        }
    }

    @Test func membersCommitAndARestartedBrokerLoadsGroupsAndOffsets() async throws {
        try await withTemporaryDirectory { dir in
            var node = try await Self.start(dir)
            _ = await node.handlers.createTopics(
                CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 2, replicationFactor: 1)], timeoutMs: 1000),
                client: ClientInfo(version: 5, clientID: "test", clientHost: "127.0.0.1"))
            _ = await node.handlers.findCoordinator(FindCoordinatorRequest(key: "g", keyType: 0), client: Self.client(2))

            let protocols = [JoinGroupRequest.SupportedProtocol(name: "range", metadata: ByteBuffer(bytes: [0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0xFF, 0xFF, 0xFF, 0xFF]))]
            var join = JoinGroupRequest(groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberID: "",
                                        protocolType: "consumer", protocols: protocols)
            let first = await node.handlers.joinGroup(join, client: Self.client(5))
            #expect(first.errorCode == .memberIDRequired)
            #expect(first.memberID.hasPrefix("test-client-"))
            join.memberID = first.memberID
            let handlers = node.handlers
            let joinAgain = join
            let joined = await Self.whileTicking(node.groups) { await handlers.joinGroup(joinAgain, client: Self.client(5)) }
            #expect(joined.errorCode == .none)
            #expect(joined.generationID == 1)
            #expect(joined.leader == joined.memberID)
            #expect(joined.protocolName == "range")
            #expect(joined.members.map(\.memberID) == [joined.memberID])

            let assignment = ByteBuffer(bytes: [0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF])
            let synced = await node.handlers.syncGroup(
                SyncGroupRequest(groupID: "g", generationID: 1, memberID: joined.memberID,
                                 assignments: [.init(memberID: joined.memberID, assignment: assignment)]), client: Self.client(3))
            #expect(synced.errorCode == .none)
            #expect(synced.assignment == assignment)

            let commit = await node.handlers.offsetCommit(
                OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: 1, memberID: joined.memberID, topics: [
                    .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 0, committedMetadata: "meta"),
                                                  .init(partitionIndex: 1, committedOffset: 7, committedMetadata: nil)]),
                    .init(name: "missing", partitions: [.init(partitionIndex: 0, committedOffset: 1)]),
                ]), client: Self.client(8))
            #expect(commit.topics.flatMap(\.partitions).map(\.errorCode) == [.none, .none, .unknownTopicOrPartition])
            let wrongGeneration = await node.handlers.offsetCommit(
                OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: 9, memberID: joined.memberID, topics: [
                    .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 1)]),
                ]), client: Self.client(8))
            #expect(wrongGeneration.topics[0].partitions[0].errorCode == .illegalGeneration)

            // Lag = high watermark - committed offset: 100 records in t-0 (committed 42), none in
            // t-1 (committed 7, so no lag rather than a negative one).
            var batch = RecordBatchBuilder(baseTimestamp: 0)
            for i in 0..<100 { batch.append(key: nil, value: ByteBuffer(string: "\(i)")) }
            _ = try await #require(await node.controller.partition(TopicPartition("t", 0))).append(batch.build(), nowMs: 0)
            let lag = await node.controller.consumerGroupLag(node.groups, groupID: "g")
            #expect(lag.map(\.topicPartition) == [GroupTopicPartition("t", 0), GroupTopicPartition("t", 1)])
            #expect(lag.map(\.endOffset) == [100, 0])
            #expect(lag.map(\.lag) == [58, 0])

            await node.controller.shutdown()
            node = try await Self.start(dir)

            let fetched = await node.handlers.offsetFetch(
                OffsetFetchRequest(groups: [.init(groupID: "g", topics: nil), .init(groupID: "nobody", topics: [.init(name: "t", partitionIndexes: [0])])]),
                client: Self.client(8))
            #expect(fetched.groups.map(\.errorCode) == [.none, .none])
            let partitions = fetched.groups[0].topics.flatMap { t in t.partitions.map { (t.name, $0) } }
            #expect(partitions.map { $0.0 } == ["t", "t"])
            #expect(partitions.map { $0.1.committedOffset } == [42, 7])
            #expect(partitions.map { $0.1.committedLeaderEpoch } == [0, -1])
            #expect(partitions.map { $0.1.metadata } == ["meta", ""])
            #expect(fetched.groups[1].topics.first?.partitions.first?.committedOffset == -1)
            #expect(fetched.groups[1].topics.first?.partitions.first?.metadata == "")

            // The group came back Stable with its member and assignment.
            let described = await node.handlers.describeGroups(DescribeGroupsRequest(groups: ["g", "nobody"]), client: Self.client(5))
            #expect(described.groups[0].groupState == "Stable")
            #expect(described.groups[0].protocolData == "range")
            #expect(described.groups[0].members.map(\.memberID) == [joined.memberID])
            #expect(described.groups[0].members.first?.clientHost == "/127.0.0.1")
            #expect(described.groups[0].members.first?.memberAssignment == assignment)
            #expect(described.groups[1].groupState == "Dead")
            let heartbeat = await node.handlers.heartbeat(HeartbeatRequest(groupID: "g", generationID: 1, memberID: joined.memberID),
                                                          client: Self.client(4))
            #expect(heartbeat.errorCode == .none)

            let busy = await node.handlers.deleteGroups(DeleteGroupsRequest(groupsNames: ["g", "nobody"]), client: Self.client(2))
            #expect(busy.results.map(\.errorCode) == [.nonEmptyGroup, .groupIDNotFound])
            let left = await node.handlers.leaveGroup(LeaveGroupRequest(groupID: "g", members: [.init(memberID: joined.memberID)]),
                                                      client: Self.client(4))
            #expect(left.errorCode == .none)
            #expect(left.members.map(\.errorCode) == [.none])
            let listed = await node.handlers.listGroups(ListGroupsRequest(statesFilter: ["empty"]), client: Self.client(4))
            #expect(listed.groups.map(\.groupID) == ["g"])
            let deleted = await node.handlers.deleteGroups(DeleteGroupsRequest(groupsNames: ["g"]), client: Self.client(2))
            #expect(deleted.results.map(\.errorCode) == [.none])

            await node.controller.shutdown()
            node = try await Self.start(dir)
            let afterDelete = await node.handlers.offsetFetch(OffsetFetchRequest(groupID: "g", topics: nil), client: Self.client(7))
            #expect(afterDelete.errorCode == .none)
            #expect(afterDelete.topics.isEmpty)
            #expect(await node.controller.consumerGroupLag(node.groups, groupID: "g").isEmpty)
            await node.controller.shutdown()
        }
    }
}

/// DescribeConfigs through the handler: sources and synonyms (KIP-226).
struct DescribeConfigsHandlerTests {
    @Test func topicOverridesInheritedBrokerValuesAndBrokerKeys() async throws {
        try await withTemporaryDirectory { dir in
            let node = try await GroupHandlerTests.start(dir, overrides: [("log.retention.hours", "24")])
            _ = await node.handlers.createTopics(
                CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 1, replicationFactor: 1,
                                                   configs: [.init(name: "cleanup.policy", value: "compact")])], timeoutMs: 1000),
                client: ClientInfo(version: 5, clientID: "test", clientHost: "127.0.0.1"))
            let response = await node.handlers.describeConfigs(DescribeConfigsRequest(resources: [
                .init(resourceType: 2, resourceName: "t", configurationKeys: ["cleanup.policy", "segment.bytes"]),
                .init(resourceType: 4, resourceName: "1", configurationKeys: ["log.retention.hours", "num.partitions"]),
                .init(resourceType: 2, resourceName: "missing"),
                .init(resourceType: 4, resourceName: "7"),
            ], includeSynonyms: true, includeDocumentation: true), version: 4)
            let topic = Dictionary(uniqueKeysWithValues: response.results[0].configs.map { ($0.name, $0) })
            #expect(topic["cleanup.policy"]?.value == "compact")
            #expect(topic["cleanup.policy"]?.configSource == DescribeConfigsResponse.Source.dynamicTopicConfig)
            #expect(topic["cleanup.policy"]?.synonyms.map(\.name) == ["cleanup.policy", "log.cleanup.policy"])
            #expect(topic["segment.bytes"]?.value == "1073741824")
            #expect(topic["segment.bytes"]?.configSource == DescribeConfigsResponse.Source.defaultConfig)
            #expect(topic["segment.bytes"]?.configType == 3)
            #expect(topic["segment.bytes"]?.documentation?.isEmpty == false)
            let broker = Dictionary(uniqueKeysWithValues: response.results[1].configs.map { ($0.name, $0) })
            #expect(broker["log.retention.hours"]?.value == "24")
            #expect(broker["log.retention.hours"]?.configSource == DescribeConfigsResponse.Source.staticBrokerConfig)
            #expect(broker["num.partitions"]?.configSource == DescribeConfigsResponse.Source.defaultConfig)
            #expect(broker["num.partitions"]?.readOnly == true)
            #expect(response.results[2].errorCode == .unknownTopicOrPartition)
            #expect(response.results[3].errorCode == .invalidRequest)
            await node.controller.shutdown()
        }
    }
}

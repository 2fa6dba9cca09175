import Foundation
import GroupCoordinator
import KafkaProtocol
import Logging
import NIOCore
@testable import RunnelBroker
import Testing

/// The ACL APIs and the checks in the handlers, through the router with chosen principals (the
/// principal a TLS or SASL connection would carry): frames in, decoded responses out.
@Suite struct AclHandlerTests {
    static let admin = KafkaPrincipal(name: "admin")
    static let alice = KafkaPrincipal(name: "alice")
    static let bob = KafkaPrincipal(name: "bob")

    struct Node {
        let router: RequestRouter
        let directory: String

        /// Sends `request` as `principal` and decodes the response.
        func call<R: KafkaRequest>(_ request: R, version: Int16, as principal: KafkaPrincipal, host: String = "/127.0.0.1") async throws -> R.Response {
            var frame = ByteBuffer()
            RequestHeader(apiKey: R.apiKey, apiVersion: version, correlationID: 7, clientID: "acl-test").encode(to: &frame)
            var body = request.encoded(apiKey: R.apiKey, version: version)
            frame.writeBuffer(&body)
            var context = RequestRouterTests.context
            context.principal = principal
            context.clientHost = host
            guard case .respond(let framed) = await router.handle(frame: frame, context: context) else {
                throw ProtocolError.invalid("no response to \(R.apiKey)")
            }
            var bytes = try framed.joined()
            _ = bytes.readInteger(as: Int32.self)
            _ = bytes.readInteger(as: Int32.self)
            var reader = KafkaReader(bytes, flexible: R.apiKey.isFlexible(version))
            if R.apiKey.responseHeaderVersion(version) >= 1 { _ = try reader.readTaggedFields() }
            return try R.Response(from: &reader, version: version)
        }
    }

    /// A standalone node; `authorizer` nil runs without authorization.
    static func withNode(directory: String? = nil, authorizer: Authorizer? = Authorizer(superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false),
                         _ body: (Node) async throws -> Void) async throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("acl-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let config = try BrokerConfig(overrides: [("log.dirs", dir), ("offsets.topic.replication.factor", "1")])
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let controller = try Controller(config: config, logger: logger)
        let groups = GroupCoordinator(partitionCount: 1, store: ConsumerOffsetsStore(controller: controller), limits: GroupLimits(), logger: logger)
        let handlers = RequestHandlers(controller: controller, groups: groups, config: config, advertised: try config.advertisedListeners[0],
                                       nodeID: 1, clusterID: controller.clusterID, logger: logger, authorizer: authorizer)
        if let authorizer {
            authorizer.replace(await controller.acls)
            await controller.onAclsChanged { authorizer.replace($0) }
        }
        try await body(Node(router: RequestRouter(handlers: handlers), directory: dir))
        await controller.shutdown()
    }

    static func acl(_ type: AclResourceType, _ name: String, pattern: AclPatternType = .literal, _ principal: KafkaPrincipal,
                    _ operation: AclOperation, _ permission: AclPermissionType = .allow) -> AclData {
        AclData(resourceType: type.rawValue, resourceName: name, patternType: pattern.rawValue, principal: principal.description, host: "*",
                operation: operation.rawValue, permissionType: permission.rawValue)
    }

    static let anyFilter = AclFilterData(resourceType: 1, resourceName: nil, patternType: 1, principal: nil, host: nil, operation: 1, permissionType: 1)

    static func grant(_ node: Node, _ acls: [AclData]) async throws {
        let response = try await node.call(CreateAclsRequest(creations: acls), version: 2, as: admin)
        #expect(response.results.allSatisfy { $0.errorCode == .none }, "\(response.results)")
    }

    static func createTopics(_ node: Node, _ names: [String]) async throws {
        let response = try await node.call(CreateTopicsRequest(topics: names.map { .init(name: $0, numPartitions: 1, replicationFactor: 1) }),
                                           version: 5, as: admin)
        #expect(response.topics.allSatisfy { $0.errorCode == .none })
    }

    @Test func aclApisWithoutAuthorizerAnswerSecurityDisabled() async throws {
        try await Self.withNode(authorizer: nil) { node in
            let describe = try await node.call(DescribeAclsRequest(filter: Self.anyFilter), version: 1, as: Self.alice)
            #expect(describe.errorCode == .securityDisabled)
            let create = try await node.call(CreateAclsRequest(creations: [Self.acl(.topic, "t", Self.alice, .read)]), version: 1, as: Self.alice)
            #expect(create.results.map(\.errorCode) == [.securityDisabled])
            // Everything else is allowed.
            let topics = try await node.call(CreateTopicsRequest(topics: [.init(name: "free", numPartitions: 1, replicationFactor: 1)]), version: 5, as: Self.bob)
            #expect(topics.topics.first?.errorCode == ErrorCode.none)
        }
    }

    @Test func createDescribeDeleteAcls() async throws {
        try await Self.withNode { node in
            // Only ALTER on the cluster may create, DESCRIBE on the cluster describe.
            let refused = try await node.call(CreateAclsRequest(creations: [Self.acl(.topic, "t", Self.alice, .read)]), version: 1, as: Self.alice)
            #expect(refused.results.map(\.errorCode) == [.clusterAuthorizationFailed])
            let describeRefused = try await node.call(DescribeAclsRequest(filter: Self.anyFilter), version: 1, as: Self.alice)
            #expect(describeRefused.errorCode == .clusterAuthorizationFailed)

            let created = try await node.call(CreateAclsRequest(creations: [
                Self.acl(.topic, "orders", Self.alice, .read),
                Self.acl(.topic, "ord", pattern: .prefixed, Self.alice, .write),
                Self.acl(.topic, "t", pattern: .match, Self.alice, .read),
                AclData(resourceType: 2, resourceName: "t", principal: "alice", host: "*", operation: 3, permissionType: 3),
                Self.acl(.any, "t", Self.alice, .read),
                Self.acl(.topic, "orders", Self.alice, .read),  // a duplicate is accepted and stored once
            ]), version: 2, as: Self.admin)
            #expect(created.results.map(\.errorCode) == [.none, .none, .invalidRequest, .invalidRequest, .invalidRequest, .none])

            let all = try await node.call(DescribeAclsRequest(filter: Self.anyFilter), version: 2, as: Self.admin)
            #expect(all.errorCode == .none)
            #expect(all.resources.map(\.resourceName) == ["ord", "orders"])
            #expect(all.resources.map { $0.acls.count } == [1, 1])

            // MATCH: every ACL that applies to topic "orders" (the literal one and the "ord" prefix).
            let match = try await node.call(DescribeAclsRequest(filter: AclFilterData(resourceType: 2, resourceName: "orders", patternType: 2,
                                                                                     principal: nil, host: nil, operation: 1, permissionType: 1)),
                                            version: 1, as: Self.admin)
            #expect(Set(match.resources.map(\.resourceName)) == ["ord", "orders"])

            let deleted = try await node.call(DeleteAclsRequest(filters: [
                AclFilterData(resourceType: 2, resourceName: "ord", patternType: 4, principal: nil, host: nil, operation: 1, permissionType: 1),
                AclFilterData(resourceType: 0, resourceName: nil, principal: nil, host: nil, operation: 1, permissionType: 1),
            ]), version: 1, as: Self.admin)
            #expect(deleted.filterResults.map(\.errorCode) == [.none, .invalidRequest])
            #expect(deleted.filterResults[0].matchingAcls.map(\.acl) == [Self.acl(.topic, "ord", pattern: .prefixed, Self.alice, .write)])
            let left = try await node.call(DescribeAclsRequest(filter: Self.anyFilter), version: 1, as: Self.admin)
            #expect(left.resources.map(\.resourceName) == ["orders"])
        }
    }

    @Test func aclsSurviveARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("acl-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withNode(directory: dir) { node in
            try await Self.grant(node, [Self.acl(.group, "g", Self.alice, .read), Self.acl(.topic, "x", Self.bob, .all, .deny)])
            let gone = try await node.call(DeleteAclsRequest(filters: [AclFilterData(resourceType: 3, resourceName: nil, patternType: 1, principal: nil,
                                                                                     host: nil, operation: 1, permissionType: 1)]), version: 1, as: Self.admin)
            #expect(gone.filterResults.first?.matchingAcls.count == 1)
        }
        try await Self.withNode(directory: dir) { node in
            let all = try await node.call(DescribeAclsRequest(filter: Self.anyFilter), version: 1, as: Self.admin)
            #expect(all.resources.map(\.resourceName) == ["x"])
            #expect(all.resources.first?.acls.first?.permissionType == AclPermissionType.deny.rawValue)
        }
    }

    @Test func topicChecks() async throws {
        try await Self.withNode { node in
            try await Self.createTopics(node, ["orders", "secret"])
            try await Self.grant(node, [Self.acl(.topic, "orders", Self.alice, .write), Self.acl(.topic, "orders", Self.alice, .read),
                                        Self.acl(.topic, "new-", pattern: .prefixed, Self.alice, .create), Self.acl(.topic, "orders", Self.alice, .alterConfigs)])

            // Metadata: all topics lists only describable ones; named ones answer the same whether they exist or not.
            let all = try await node.call(MetadataRequest(topics: nil), version: 12, as: Self.alice)
            #expect(all.topics.compactMap(\.name) == ["orders"])
            let named = try await node.call(MetadataRequest(topics: [.init(name: "secret"), .init(name: "missing"), .init(name: "orders")],
                                                            allowAutoTopicCreation: false), version: 12, as: Self.alice)
            #expect(named.topics.map(\.errorCode) == [.topicAuthorizationFailed, .topicAuthorizationFailed, .none])
            #expect(try await node.call(MetadataRequest(topics: nil), version: 12, as: Self.bob).topics.isEmpty)

            // Produce: WRITE on the topic.
            var batch = RecordBatchBuilder(baseTimestamp: 0)
            batch.append(key: nil, value: ByteBuffer(string: "v"))
            let records = batch.build()
            let produce = ProduceRequest(acks: 1, timeoutMs: 1000, topicData: [
                .init(name: "orders", partitionData: [.init(index: 0, records: records)]),
                .init(name: "secret", partitionData: [.init(index: 0, records: records)]),
            ])
            let produced = try await node.call(produce, version: 8, as: Self.alice)
            #expect(produced.responses.map { $0.partitionResponses[0].errorCode } == [.none, .topicAuthorizationFailed])

            // Fetch: READ on the topic.
            let fetch = FetchRequest(replicaID: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, topics: [
                .init(topic: "orders", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
                .init(topic: "secret", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
            ])
            let fetched = try await node.call(fetch, version: 11, as: Self.alice)
            #expect(fetched.responses.map { $0.partitions[0].errorCode } == [.none, .topicAuthorizationFailed])
            #expect(fetched.responses[0].partitions[0].records.readableBytes > 0)

            // CreateTopics: CREATE on the topic (prefixed) or the cluster.
            let created = try await node.call(CreateTopicsRequest(topics: [.init(name: "new-1", numPartitions: 1, replicationFactor: 1),
                                                                         .init(name: "other", numPartitions: 1, replicationFactor: 1)]),
                                              version: 5, as: Self.alice)
            #expect(created.topics.map(\.errorCode) == [.none, .topicAuthorizationFailed])
            #expect(try await node.call(MetadataRequest(topics: [.init(name: "other")], allowAutoTopicCreation: false), version: 12, as: Self.admin)
                .topics.first?.errorCode == .unknownTopicOrPartition)

            // DeleteTopics: DELETE; existence is not revealed.
            let deleted = try await node.call(DeleteTopicsRequest(topicNames: ["secret", "missing"], timeoutMs: 1000), version: 4, as: Self.alice)
            #expect(deleted.responses.map(\.errorCode) == [.topicAuthorizationFailed, .topicAuthorizationFailed])

            // Configs: DESCRIBE_CONFIGS is implied by ALTER_CONFIGS; broker configs need the cluster.
            let configs = try await node.call(DescribeConfigsRequest(resources: [.init(resourceType: 2, resourceName: "orders"),
                                                                                 .init(resourceType: 2, resourceName: "secret"),
                                                                                 .init(resourceType: 4, resourceName: "1")]),
                                              version: 4, as: Self.alice)
            #expect(configs.results.map(\.errorCode) == [.none, .topicAuthorizationFailed, .clusterAuthorizationFailed])

            // ListOffsets and DeleteRecords.
            let offsets = try await node.call(ListOffsetsRequest(replicaID: -1, isolationLevel: 0, topics: [
                .init(name: "orders", partitions: [.init(partitionIndex: 0, timestamp: -1)]),
                .init(name: "secret", partitions: [.init(partitionIndex: 0, timestamp: -1)]),
            ]), version: 7, as: Self.alice)
            #expect(offsets.topics.map { $0.partitions[0].errorCode } == [.none, .topicAuthorizationFailed])
            let trimmed = try await node.call(DeleteRecordsRequest(topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, offset: -1)])],
                                                                   timeoutMs: 1000), version: 2, as: Self.alice)
            #expect(trimmed.topics.first?.partitions.first?.errorCode == .topicAuthorizationFailed)

            // InitProducerId: WRITE on some topic is enough for idempotence; bob has none.
            #expect(try await node.call(InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: 1000), version: 4, as: Self.alice).errorCode == .none)
            #expect(try await node.call(InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: 1000), version: 4, as: Self.bob).errorCode
                == .clusterAuthorizationFailed)

            // OffsetForLeaderEpoch: DESCRIBE on the topic for a client, CLUSTER_ACTION for a follower.
            let epochs = [OffsetForLeaderEpochRequest.Topic(topic: "orders", partitions: [.init(partition: 0, leaderEpoch: 0)])]
            let asClient = try await node.call(OffsetForLeaderEpochRequest(replicaID: -1, topics: epochs), version: 4, as: Self.alice)
            #expect(asClient.topics.first?.partitions.first?.errorCode == ErrorCode.none)
            let asFollower = try await node.call(OffsetForLeaderEpochRequest(replicaID: 2, topics: epochs), version: 4, as: Self.alice)
            #expect(asFollower.topics.first?.partitions.first?.errorCode == .topicAuthorizationFailed)
            let asBroker = try await node.call(OffsetForLeaderEpochRequest(replicaID: 2, topics: epochs), version: 4, as: Self.admin)
            #expect(asBroker.topics.first?.partitions.first?.errorCode == ErrorCode.none)
            let followerFetch = FetchRequest(replicaID: 2, maxWaitMs: 0, minBytes: 0, topics: [
                .init(topic: "orders", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1024)]),
            ])
            #expect(try await node.call(followerFetch, version: 11, as: Self.alice).responses[0].partitions[0].errorCode == .topicAuthorizationFailed)

            // Cluster APIs.
            // DescribeCluster needs nothing; the cluster operations asked for (KIP-430) are those allowed.
            let described = try await node.call(DescribeClusterRequest(includeClusterAuthorizedOperations: true), version: 1, as: Self.alice)
            #expect(described.errorCode == ErrorCode.none && described.clusterAuthorizedOperations == 0)
            let superUser = try await node.call(DescribeClusterRequest(includeClusterAuthorizedOperations: true), version: 1, as: Self.admin)
            let everyClusterOperation: Int32 = 0b1_1111_1010_0000  // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, *_CONFIGS 10-11, IDEMPOTENT_WRITE 12
            #expect(superUser.clusterAuthorizedOperations == everyClusterOperation)
            #expect(try await node.call(DescribeClusterRequest(), version: 1, as: Self.alice).clusterAuthorizedOperations == Int32.min)
            let logDirs = try await node.call(DescribeLogDirsRequest(topics: nil), version: 4, as: Self.alice)
            #expect(logDirs.errorCode == .clusterAuthorizationFailed && logDirs.results.isEmpty)
            #expect(try await node.call(DescribeLogDirsRequest(topics: nil), version: 4, as: Self.admin).results.count == 1)
        }
    }

    @Test func denyBeatsAllowAndWildcards() async throws {
        try await Self.withNode { node in
            try await Self.createTopics(node, ["a", "b"])
            try await Self.grant(node, [Self.acl(.topic, "*", KafkaPrincipal(name: "*"), .describe),
                                        Self.acl(.topic, "b", Self.bob, .describe, .deny)])
            #expect(try await node.call(MetadataRequest(topics: nil), version: 12, as: Self.alice).topics.compactMap(\.name) == ["a", "b"])
            #expect(try await node.call(MetadataRequest(topics: nil), version: 12, as: Self.bob).topics.compactMap(\.name) == ["a"])
        }
    }

    @Test func groupChecks() async throws {
        try await Self.withNode { node in
            try await Self.createTopics(node, ["orders"])
            try await Self.grant(node, [Self.acl(.group, "g-", pattern: .prefixed, Self.alice, .read), Self.acl(.topic, "orders", Self.alice, .read)])
            let found = try await node.call(FindCoordinatorRequest(key: "g-1"), version: 3, as: Self.alice)
            #expect(found.errorCode == .none)
            #expect(try await node.call(FindCoordinatorRequest(key: "g-1"), version: 3, as: Self.bob).errorCode == .groupAuthorizationFailed)
            let join = JoinGroupRequest(groupID: "other", sessionTimeoutMs: 10_000, protocolType: "consumer",
                                        protocols: [.init(name: "range", metadata: ByteBuffer())])
            #expect(try await node.call(join, version: 7, as: Self.alice).errorCode == .groupAuthorizationFailed)
            #expect(try await node.call(HeartbeatRequest(groupID: "g-1", generationID: 1, memberID: "m"), version: 4, as: Self.bob).errorCode
                == .groupAuthorizationFailed)
            let commit = OffsetCommitRequest(groupID: "g-1", generationIDOrMemberEpoch: -1, memberID: "", topics: [
                .init(name: "orders", partitions: [.init(partitionIndex: 0, committedOffset: 0)]),
            ])
            #expect(try await node.call(commit, version: 8, as: Self.alice).topics[0].partitions[0].errorCode == .none)
            #expect(try await node.call(commit, version: 8, as: Self.bob).topics[0].partitions[0].errorCode == .groupAuthorizationFailed)
            let deleted = try await node.call(DeleteGroupsRequest(groupsNames: ["g-1"]), version: 2, as: Self.alice)
            #expect(deleted.results.first?.errorCode == .groupAuthorizationFailed)
            let described = try await node.call(DescribeGroupsRequest(groups: ["g-1", "zzz"]), version: 5, as: Self.alice)
            #expect(described.groups.map(\.errorCode) == [.none, .groupAuthorizationFailed])
            #expect(try await node.call(ListGroupsRequest(), version: 4, as: Self.alice).groups.map(\.groupID) == ["g-1"])
            #expect(try await node.call(ListGroupsRequest(), version: 4, as: Self.bob).groups.isEmpty)
        }
    }

    @Test func interNodeApisNeedClusterAction() async throws {
        try await Self.withNode { node in
            var frame = ByteBuffer()
            RequestHeader(apiKey: .brokerHeartbeat, apiVersion: 1, correlationID: 1, clientID: "x").encode(to: &frame)
            frame.writeBytes([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            var context = RequestRouterTests.context
            context.principal = Self.alice
            guard case .close(let reason) = await node.router.handle(frame: frame, context: context) else {
                Issue.record("expected the connection closed"); return
            }
            #expect(reason.contains("CLUSTER_ACTION"))
        }
    }
}

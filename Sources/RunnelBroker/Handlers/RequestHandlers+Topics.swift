import KafkaProtocol

extension RequestHandlers {
    /// CreateTopics v0-5. -1 partitions or replication factor means the broker default (KIP-464);
    /// a manual assignment must name only this broker. v5 responses echo the partition count,
    /// replication factor and effective configs. A name repeated in one request fails with
    /// INVALID_REQUEST, as in Kafka.
    ///
    /// In a cluster a broker that is not the active controller forwards the request (KIP-590); the
    /// brokers' own client id (`runnel-broker-<id>`) may create internal topics
    /// (`__consumer_offsets`), clients may not.
    /// Topics the principal may not create (CREATE on the cluster or on the topic) get
    /// TOPIC_AUTHORIZATION_FAILED; only the others are created (or forwarded).
    func createTopics(_ request: CreateTopicsRequest, client: ClientInfo) async -> CreateTopicsResponse {
        let clusterCreate = authorized(.create, .cluster)
        return CreateTopicsResponse(topics: await authorizingEach(request.topics) {
            clusterCreate ? nil : topicAuthorizationError(.create, topic: $0.name)
        } refused: {
            .init(name: $0.name, errorCode: $1, errorMessage: "Authorization failed.", configs: nil)
        } allowed: { allowed in
            var inner = request
            inner.topics = allowed
            return await createAuthorizedTopics(inner, client: client).topics
        })
    }

    private func createAuthorizedTopics(_ request: CreateTopicsRequest, client: ClientInfo) async -> CreateTopicsResponse {
        let version = client.version
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure):
                return CreateTopicsResponse(topics: request.topics.map {
                    .init(name: $0.name, errorCode: failure.code, errorMessage: "The active controller did not answer.", configs: nil)
                })
            }
        }
        let fromBroker = await controller.isBrokerClientID(client.clientID)
        var counts: [String: Int] = [:]
        for t in request.topics { counts[t.name, default: 0] += 1 }
        var topics: [CreateTopicsResponse.Topic] = []
        for t in request.topics {
            if counts[t.name, default: 0] > 1 {
                topics.append(.init(name: t.name, errorCode: .invalidRequest, errorMessage: "Create topics request from client contains a duplicate topic name: \(t.name)", configs: nil))
                continue
            }
            var assignment: [[Int32]]?
            var numPartitions = t.numPartitions
            var replicationFactor = t.replicationFactor
            if !t.assignments.isEmpty {
                guard numPartitions == -1, replicationFactor == -1 else {
                    topics.append(.init(name: t.name, errorCode: .invalidRequest,
                                        errorMessage: "Both numPartitions or replicationFactor and replicasAssignments were set.", configs: nil))
                    continue
                }
                let sorted = t.assignments.sorted { $0.partitionIndex < $1.partitionIndex }
                let live = Set(await controller.placementBrokers)
                let factor = sorted.first?.brokerIDs.count ?? 0
                let valid = sorted.enumerated().allSatisfy {
                    $0.offset == Int($0.element.partitionIndex) && $0.element.brokerIDs.count == factor && factor > 0
                        && Set($0.element.brokerIDs).count == factor && $0.element.brokerIDs.allSatisfy(live.contains)
                }
                guard valid else {
                    topics.append(.init(name: t.name, errorCode: .invalidReplicaAssignment,
                                        errorMessage: "Replica assignments must cover partitions 0..n-1, each with the same number of distinct live brokers (\(live.sorted())).", configs: nil))
                    continue
                }
                numPartitions = Int32(sorted.count)
                replicationFactor = Int16(factor)
                assignment = sorted.map(\.brokerIDs)
            }
            let result = await controller.createTopic(name: t.name, numPartitions: numPartitions, replicationFactor: replicationFactor,
                                                      configs: t.configs.map { ($0.name, $0.value) }, validateOnly: request.validateOnly,
                                                      allowInternal: fromBroker, assignment: assignment)
            if result.errorCode != .none {
                topics.append(.init(name: t.name, errorCode: result.errorCode, errorMessage: result.errorMessage, configs: nil))
            } else {
                // Config sources (DescribeConfigs): 1 = DYNAMIC_TOPIC_CONFIG, 5 = DEFAULT_CONFIG.
                let configs = result.configs.sorted { $0.key < $1.key }.map {
                    CreateTopicsResponse.Config(name: $0.key, value: $0.value, readOnly: false,
                                                configSource: result.overriddenKeys.contains($0.key) ? 1 : 5, isSensitive: false)
                }
                topics.append(.init(name: t.name, numPartitions: result.numPartitions,
                                    replicationFactor: result.replicationFactor, configs: configs))
            }
        }
        return CreateTopicsResponse(topics: topics)
    }

    /// DeleteTopics v0-4 (by name).
    /// Topics the principal may not delete get TOPIC_AUTHORIZATION_FAILED, existing or not.
    func deleteTopics(_ request: DeleteTopicsRequest, version: Int16) async -> DeleteTopicsResponse {
        DeleteTopicsResponse(responses: await authorizingEach(request.topicNames) {
            topicAuthorizationError(.delete, topic: $0)
        } refused: {
            .init(name: $0, errorCode: $1)
        } allowed: { allowed in
            var inner = request
            inner.topicNames = allowed
            return await deleteAuthorizedTopics(inner, version: version).responses
        })
    }

    private func deleteAuthorizedTopics(_ request: DeleteTopicsRequest, version: Int16) async -> DeleteTopicsResponse {
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure): return DeleteTopicsResponse(responses: request.topicNames.map { .init(name: $0, errorCode: failure.code) })
            }
        }
        var results: [DeleteTopicsResponse.Result] = []
        for name in request.topicNames {
            let (code, _) = await controller.deleteTopic(name: name)
            results.append(.init(name: name, errorCode: code))
        }
        return DeleteTopicsResponse(responses: results)
    }

    /// OffsetForLeaderEpoch v2-4 (KIP-101, KIP-279, KIP-320): the end offset of the requested epoch
    /// in this log and the largest epoch at or below it.
    /// A follower (replica id >= 0) needs CLUSTER_ACTION on the cluster, a client DESCRIBE on the topic.
    func offsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest, version: Int16) async -> OffsetForLeaderEpochResponse {
        var topics: [OffsetForLeaderEpochResponse.Topic] = []
        let followerAllowed = request.replicaID >= 0 && authorized(.clusterAction, .cluster)
        for topic in request.topics {
            var partitions: [OffsetForLeaderEpochResponse.EpochEndOffset] = []
            let refusal = request.replicaID >= 0 ? (followerAllowed ? nil : ErrorCode.topicAuthorizationFailed)
                                                 : topicAuthorizationError(.describe, topic: topic.topic)
            if let refused = refusal {
                topics.append(.init(topic: topic.topic, partitions: topic.partitions.map { .init(errorCode: refused, partition: $0.partition) }))
                continue
            }
            for p in topic.partitions {
                guard let partition = await controller.partition(TopicPartition(topic.topic, p.partition)) else {
                    partitions.append(.init(errorCode: .unknownTopicOrPartition, partition: p.partition))
                    continue
                }
                let fenced = await partition.checkLeaderEpoch(p.currentLeaderEpoch)
                guard fenced == .none else {
                    partitions.append(.init(errorCode: fenced, partition: p.partition))
                    continue
                }
                let (epoch, end) = await partition.endOffset(forLeaderEpoch: p.leaderEpoch)
                partitions.append(.init(partition: p.partition, leaderEpoch: epoch, endOffset: end))
            }
            topics.append(.init(topic: topic.topic, partitions: partitions))
        }
        return OffsetForLeaderEpochResponse(topics: topics)
    }
}

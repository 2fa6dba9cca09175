import KafkaProtocol

extension RequestHandlers {
    /// Metadata v0-12. Topic list: v0 empty = all; v1+ null = all, empty = none. Unknown topics are
    /// created when the request allows it (always before v4) and `auto.create.topics.enable` is true.
    /// With an authorizer: "all topics" lists only those the principal may DESCRIBE; a named topic it
    /// may not describe gets TOPIC_AUTHORIZATION_FAILED whether it exists or not (by topic id,
    /// UNKNOWN_TOPIC_ID); auto-creation needs CREATE on the cluster or the topic.
    /// In a cluster the brokers are the registered, unfenced ones, and a partition whose leader is
    /// fenced reports LEADER_NOT_AVAILABLE with no leader.
    /// - Parameter listener: the listener the request came in on; brokers are described by their
    ///   endpoint of that name.
    func metadata(_ request: MetadataRequest, version: Int16, listener: String? = nil) async -> MetadataResponse {
        let allowAutoCreate = (version < 4 || request.allowAutoTopicCreation) && config.bool("auto.create.topics.enable")
        var image = await controller.image
        var topics: [MetadataResponse.Topic] = []
        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        if wantsAll {
            // Topics the principal may not describe are left out, as if they did not exist.
            topics = image.topics.values.sorted { $0.name < $1.name }.filter { authorized(.describe, topic: $0.name) }.map { describe($0, image) }
        } else {
            for requested in request.topics ?? [] {
                if let name = requested.name {
                    if let refused = topicAuthorizationError(.describe, topic: name) {
                        // The same answer whether or not the topic exists (KafkaApis).
                        topics.append(.init(errorCode: refused, name: name, partitions: []))
                    } else if let topic = image.topics[name] {
                        topics.append(describe(topic, image))
                    } else if let problem = TopicName.problem(name) {
                        logger.debug("metadata for an invalid topic name", metadata: ["topic": "\(name)", "reason": "\(problem)"])
                        topics.append(.init(errorCode: .invalidTopicException, name: name, partitions: []))
                    } else if allowAutoCreate, !authorized(.create, .cluster), let refused = topicAuthorizationError(.create, topic: name) {
                        topics.append(.init(errorCode: refused, name: name, partitions: []))
                    } else if allowAutoCreate {
                        let result = await autoCreateTopic(name)
                        image = await controller.image
                        if let topic = image.topics[name] {
                            topics.append(describe(topic, image))
                        } else {
                            let code: ErrorCode = result == .topicAlreadyExists || result == .none ? .leaderNotAvailable : result
                            topics.append(.init(errorCode: code, name: name, partitions: []))
                        }
                    } else {
                        topics.append(.init(errorCode: .unknownTopicOrPartition, name: name, partitions: []))
                    }
                } else if let topic = image.topic(id: requested.topicID), authorized(.describe, topic: topic.name) {
                    topics.append(describe(topic, image))
                } else {
                    topics.append(.init(errorCode: .unknownTopicID, name: nil, topicID: requested.topicID, partitions: []))
                }
            }
        }
        // KIP-430: the operations the principal may perform, when asked (v8+).
        if request.includeTopicAuthorizedOperations {
            for i in topics.indices where topics[i].errorCode == .none {
                if let name = topics[i].name { topics[i].topicAuthorizedOperations = authorizedOperations(.topic(name)) }
            }
        }
        return MetadataResponse(brokers: liveBrokers(image, listener: listener), clusterID: clusterID,
                                controllerID: await controller.advertisedControllerID(), topics: topics,
                                clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? authorizedOperations(.cluster) : Int32.min)
    }

    /// The brokers clients may use: this one when standalone, else every registered, unfenced
    /// broker, each at its endpoint named `listener` (else its first).
    func liveBrokers(_ image: MetadataImage, listener: String? = nil) -> [MetadataResponse.Broker] {
        guard controller.cluster != nil else {
            let own = advertised(for: listener)
            return [.init(nodeID: nodeID, host: own.host, port: Int32(own.port))]
        }
        return image.brokers.values.filter { !$0.fenced }.sorted { $0.brokerID < $1.brokerID }.compactMap { b in
            guard let endpoint = b.endpoints.first(where: { $0.name == listener }) ?? b.endpoints.first else { return nil }
            return MetadataResponse.Broker(nodeID: b.brokerID, host: endpoint.host, port: Int32(endpoint.port), rack: b.rack)
        }
    }

    /// Creates a topic a Metadata request named (`auto.create.topics.enable`) on the active
    /// controller: here, or forwarded to it (KIP-590). Returns the creation's error code.
    private func autoCreateTopic(_ name: String) async -> ErrorCode {
        if await controller.isActiveController {
            return await controller.createTopic(name: name, numPartitions: -1, replicationFactor: -1, configs: [], validateOnly: false).errorCode
        }
        let request = CreateTopicsRequest(topics: [.init(name: name, numPartitions: -1, replicationFactor: -1)], timeoutMs: 10_000)
        guard case .success(let response) = await forwardToController(request, version: 5), let result = response.topics.first else {
            return .leaderNotAvailable
        }
        if result.errorCode == .none {
            await RequestTimer.parked { await controller.waitForTopic(name, timeout: .seconds(5)) }
        }
        return result.errorCode
    }

    private func describe(_ topic: MetadataImage.TopicImage, _ image: MetadataImage) -> MetadataResponse.Topic {
        let isCluster = controller.cluster != nil
        let partitions = topic.partitions.values.sorted { $0.partitionID < $1.partitionID }.map { p in
            // A partition whose leader is on a fenced broker (the controller is electing another,
            // or none of its in-sync replicas is live) has no leader until one returns.
            let leaderLive = !isCluster || image.brokers[p.leader].map { !$0.fenced } == true
            let offline = isCluster ? p.replicas.filter { image.brokers[$0].map(\.fenced) ?? true } : []
            return MetadataResponse.Partition(errorCode: leaderLive ? .none : .leaderNotAvailable, partitionIndex: p.partitionID,
                                              leaderID: leaderLive ? p.leader : -1, leaderEpoch: p.leaderEpoch,
                                              replicaNodes: p.replicas, isrNodes: p.isr, offlineReplicas: offline)
        }
        return MetadataResponse.Topic(name: topic.name, topicID: topic.topicID, isInternal: TopicName.isInternal(topic.name),
                                      partitions: partitions)
    }
}

extension RequestHandlers {
    /// This broker's advertised listener named `listenerName`, else the first advertised one.
    func advertised(for listenerName: String?) -> Listener {
        advertisedListeners.first { $0.name == listenerName } ?? advertised
    }
}

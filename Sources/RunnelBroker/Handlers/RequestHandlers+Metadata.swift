import KafkaProtocol

extension RequestHandlers {
    /// Metadata v0-12. Topic list: v0 empty = all; v1+ null = all, empty = none. Unknown topics are
    /// created when the request allows it (always before v4) and `auto.create.topics.enable` is true.
    func metadata(_ request: MetadataRequest, version: Int16) async -> MetadataResponse {
        let allowAutoCreate = (version < 4 || request.allowAutoTopicCreation) && config.bool("auto.create.topics.enable")
        var image = await controller.image
        var topics: [MetadataResponse.Topic] = []
        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        if wantsAll {
            topics = image.topics.values.sorted { $0.name < $1.name }.map(describe)
        } else {
            for requested in request.topics ?? [] {
                if let name = requested.name {
                    if let topic = image.topics[name] {
                        topics.append(describe(topic))
                    } else if let problem = TopicName.problem(name) {
                        logger.debug("metadata for an invalid topic name", metadata: ["topic": "\(name)", "reason": "\(problem)"])
                        topics.append(.init(errorCode: .invalidTopicException, name: name, partitions: []))
                    } else if allowAutoCreate {
                        let result = await controller.createTopic(name: name, numPartitions: -1, replicationFactor: -1,
                                                                  configs: [], validateOnly: false)
                        image = await controller.image
                        if let topic = image.topics[name] {
                            topics.append(describe(topic))
                        } else {
                            let code: ErrorCode = result.errorCode == .topicAlreadyExists ? .leaderNotAvailable : result.errorCode
                            topics.append(.init(errorCode: code, name: name, partitions: []))
                        }
                    } else {
                        topics.append(.init(errorCode: .unknownTopicOrPartition, name: name, partitions: []))
                    }
                } else if let topic = image.topic(id: requested.topicID) {
                    topics.append(describe(topic))
                } else {
                    topics.append(.init(errorCode: .unknownTopicID, name: nil, topicID: requested.topicID, partitions: []))
                }
            }
        }
        return MetadataResponse(
            brokers: [.init(nodeID: nodeID, host: advertised.host, port: Int32(advertised.port))],
            clusterID: clusterID, controllerID: nodeID, topics: topics)
    }

    private func describe(_ topic: MetadataImage.TopicImage) -> MetadataResponse.Topic {
        let partitions = topic.partitions.values.sorted { $0.partitionID < $1.partitionID }.map { p in
            MetadataResponse.Partition(partitionIndex: p.partitionID, leaderID: p.leader, leaderEpoch: p.leaderEpoch,
                                       replicaNodes: p.replicas, isrNodes: p.isr)
        }
        return MetadataResponse.Topic(name: topic.name, topicID: topic.topicID, isInternal: TopicName.isInternal(topic.name),
                                      partitions: partitions)
    }
}

import KafkaProtocol
import Logging

/// Manages topics, configs, consumer groups and offsets (the Java client's `Admin`).
///
/// Every method sends its request to the broker that must answer it (controller-routed
/// requests to any broker, group requests to the group coordinator, ListOffsets to leaders) and
/// throws ``ClientError/broker(code:message:context:)`` with the broker's error and message.
public actor Admin {
    let core: ClientCore
    public let configuration: ClientConfiguration

    public init(configuration: ClientConfiguration, logger: Logger = Logger(label: "runnel.admin")) {
        self.configuration = configuration
        self.core = ClientCore(configuration: configuration, logger: logger)
    }

    /// Closes every connection.
    public func close() async { await core.close() }

    private var timeoutMs: Int32 { configuration.requestTimeout.milliseconds32 }

    func check(_ code: ErrorCode, _ message: String?, _ context: String) throws {
        guard code == .none else { throw ClientError.broker(code: code, message: message, context: context) }
    }

    // MARK: topics

    /// Creates topics (CreateTopics). - Throws: TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG...
    public func createTopics(_ topics: [NewTopic], validateOnly: Bool = false) async throws {
        let request = CreateTopicsRequest(topics: topics.map { topic in
            .init(name: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor,
                  configs: topic.configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })
        }, timeoutMs: timeoutMs, validateOnly: validateOnly)
        let response = try await core.anyConnection().send(request)
        for topic in response.topics {
            try check(topic.errorCode, topic.errorMessage, "creating topic '\(topic.name)'")
        }
    }

    /// Deletes topics (DeleteTopics). - Throws: UNKNOWN_TOPIC_OR_PARTITION for a missing topic.
    public func deleteTopics(_ names: [String]) async throws {
        let response = try await core.anyConnection().send(DeleteTopicsRequest(topicNames: names, timeoutMs: timeoutMs))
        for result in response.responses {
            if result.errorCode == .unknownTopicOrPartition { throw ClientError.unknownTopic(result.name) }
            try check(result.errorCode, nil, "deleting topic '\(result.name)'")
        }
    }

    /// Names of every topic; internal ones (`__consumer_offsets`) only when asked.
    public func listTopics(includeInternal: Bool = false) async throws -> [String] {
        let response = try await core.refreshMetadata(topics: nil)
        return response.topics.filter { includeInternal || !$0.isInternal }.compactMap(\.name).sorted()
    }

    /// Partitions, leaders and replicas of `names` (Metadata).
    /// - Throws: ``ClientError/unknownTopic(_:)`` for a missing topic.
    public func describeTopics(_ names: [String]) async throws -> [TopicMetadata] {
        let response = try await core.refreshMetadata(topics: names)
        return try names.map { name in
            guard let topic = response.topics.first(where: { $0.name == name }),
                  topic.errorCode != .unknownTopicOrPartition else { throw ClientError.unknownTopic(name) }
            try check(topic.errorCode, nil, "describing topic '\(name)'")
            return TopicMetadata(topic)
        }
    }

    /// Raises a topic's partition count to `totalCount` (CreatePartitions).
    public func createPartitions(topic: String, totalCount: Int32) async throws {
        let response = try await core.anyConnection().send(
            CreatePartitionsRequest(topics: [.init(name: topic, count: totalCount)], timeoutMs: timeoutMs))
        for result in response.results {
            if result.errorCode == .unknownTopicOrPartition { throw ClientError.unknownTopic(result.name) }
            try check(result.errorCode, result.errorMessage, "adding partitions to '\(result.name)'")
        }
    }

    // MARK: configs

    /// Every config of `resource` with its value and source (DescribeConfigs).
    public func describeConfigs(_ resource: ConfigResource) async throws -> [ConfigEntry] {
        let response = try await core.anyConnection().send(DescribeConfigsRequest(resources: [
            .init(resourceType: resource.type, resourceName: resource.name),
        ]))
        guard let result = response.results.first else { return [] }
        if result.errorCode == .unknownTopicOrPartition, case .topic(let name) = resource { throw ClientError.unknownTopic(name) }
        try check(result.errorCode, result.errorMessage, "describing configs of \(resource.name)")
        return result.configs.map {
            ConfigEntry(name: $0.name, value: $0.value, source: Self.sourceName($0.configSource),
                        isDefault: $0.isDefault || $0.configSource == DescribeConfigsResponse.Source.defaultConfig,
                        isReadOnly: $0.readOnly, isSensitive: $0.isSensitive)
        }.sorted { $0.name < $1.name }
    }

    /// Sets or deletes configs of `resource` (IncrementalAlterConfigs, KIP-339).
    public func alterConfigs(_ resource: ConfigResource, changes: [ConfigChange]) async throws {
        let configs = changes.map { change -> IncrementalAlterConfigsRequest.Config in
            switch change {
            case .set(let name, let value): return .init(name: name, configOperation: 0, value: value)
            case .delete(let name): return .init(name: name, configOperation: 1, value: nil)
            }
        }
        let response = try await core.anyConnection().send(IncrementalAlterConfigsRequest(resources: [
            .init(resourceType: resource.type, resourceName: resource.name, configs: configs),
        ]))
        for result in response.responses {
            if result.errorCode == .unknownTopicOrPartition, case .topic(let name) = resource { throw ClientError.unknownTopic(name) }
            try check(result.errorCode, result.errorMessage, "altering configs of \(result.resourceName)")
        }
    }

    static func sourceName(_ source: Int8) -> String {
        switch source {
        case 1: return "DYNAMIC_TOPIC_CONFIG"
        case 2: return "DYNAMIC_BROKER_CONFIG"
        case 3: return "DYNAMIC_DEFAULT_BROKER_CONFIG"
        case 4: return "STATIC_BROKER_CONFIG"
        case 5: return "DEFAULT_CONFIG"
        case 6: return "DYNAMIC_BROKER_LOGGER_CONFIG"
        default: return "UNKNOWN"
        }
    }

    // MARK: cluster and offsets

    /// Cluster id, controller and brokers (DescribeCluster, KIP-700; Metadata on older brokers).
    public func describeCluster() async throws -> ClusterDescription {
        let connection = try await core.anyConnection()
        if connection.versions[.describeCluster] != nil {
            let response = try await connection.send(DescribeClusterRequest())
            try check(response.errorCode, response.errorMessage, "DescribeCluster")
            return ClusterDescription(clusterID: response.clusterID, controllerID: response.controllerID,
                                      brokers: response.brokers.map {
                                          BrokerMetadata(id: $0.brokerID, host: $0.host, port: Int($0.port), rack: $0.rack)
                                      }.sorted { $0.id < $1.id })
        }
        let response = try await core.refreshMetadata(topics: [])
        return ClusterDescription(clusterID: response.clusterID, controllerID: response.controllerID,
                                  brokers: await core.knownBrokers())
    }

    /// Offsets of `partitions` for `spec` (ListOffsets to each leader).
    public func listOffsets(_ partitions: [TopicPartition], spec: OffsetSpec,
                            isolationLevel: IsolationLevel = .readUncommitted) async throws -> [TopicPartition: Int64] {
        try await OffsetLookup.listOffsets(core: core, partitions: partitions, timestamp: spec.wireTimestamp,
                                           isolationLevel: isolationLevel, retryBackoff: configuration.retryBackoff)
    }

    /// Every partition of `topic`.
    public func partitions(of topic: String) async throws -> [TopicPartition] {
        try await core.topic(topic).partitions.map { TopicPartition(topic: topic, partition: $0.partition) }
    }
}

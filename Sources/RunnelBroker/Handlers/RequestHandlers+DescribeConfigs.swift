import KafkaProtocol

extension RequestHandlers {
    /// DescribeConfigs v1-4 from the configuration definitions and the effective (static plus
    /// dynamic) broker configuration: for a topic (resource type 2) every topic key with its
    /// effective value, DYNAMIC_TOPIC_CONFIG for an override, else the source of the broker key it
    /// inherits; for this broker (resource type 4, named by its node id, or "" for cluster-wide
    /// defaults) every broker key, with DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
    /// STATIC_BROKER_CONFIG or DEFAULT_CONFIG. Synonyms list every layer that sets the key, highest
    /// precedence first (KIP-226). Broker keys outside ``ConfigDefinitions/dynamicBrokerKeys`` are
    /// read-only.
    func describeConfigs(_ request: DescribeConfigsRequest, version: Int16) async -> DescribeConfigsResponse {
        let image = await controller.image
        let config = await controller.config
        var results: [DescribeConfigsResponse.Result] = []
        for resource in request.resources {
            let keys = resource.configurationKeys.map(Set.init)
            func wanted(_ name: String) -> Bool { keys?.contains(name) ?? true }
            func result(_ code: ErrorCode, _ message: String?, _ configs: [DescribeConfigsResponse.Config] = []) -> DescribeConfigsResponse.Result {
                .init(errorCode: code, errorMessage: message, resourceType: resource.resourceType, resourceName: resource.resourceName,
                      configs: configs)
            }
            if let refused = configAuthorizationError(.describeConfigs, type: resource.resourceType, name: resource.resourceName) {
                results.append(result(refused, "Authorization failed."))
                continue
            }
            switch resource.resourceType {
            case 2:
                guard let topic = image.topics[resource.resourceName] else {
                    results.append(result(.unknownTopicOrPartition, "Topic '\(resource.resourceName)' does not exist."))
                    continue
                }
                let configs = ConfigDefinitions.topic.filter { wanted($0.name) }.map { def in
                    Self.topicConfig(def, override: topic.configs[def.name], config: config, request: request)
                }
                results.append(result(.none, nil, configs))
            case 4:
                guard resource.resourceName.isEmpty || resource.resourceName == String(nodeID) else {
                    results.append(result(.invalidRequest, "Broker \(resource.resourceName) is not this broker (\(nodeID))."))
                    continue
                }
                let configs = ConfigDefinitions.broker.filter { wanted($0.name) && !$0.name.contains("<") }.map { def in
                    Self.brokerConfig(def, config: config, request: request)
                }
                results.append(result(.none, nil, configs))
            default:
                results.append(result(.invalidRequest, "Resource type \(resource.resourceType) is not supported."))
            }
        }
        return DescribeConfigsResponse(results: results)
    }

    /// The layers of a broker key as DescribeConfigs synonyms.
    private static func brokerSynonyms(_ key: String, config: BrokerConfig, sensitive: Bool) -> [DescribeConfigsResponse.Synonym] {
        config.layers(key).map { .init(name: key, value: sensitive ? nil : $0.value, source: $0.source.rawValue) }
    }

    /// The broker keys a topic key inherits from, in Kafka's order (`log.retention.ms`, then
    /// `.minutes`, then `.hours`), with every layer that gives a value.
    private static func inheritedSynonyms(_ brokerKey: String, config: BrokerConfig) -> [DescribeConfigsResponse.Synonym] {
        let chain: [String]
        switch brokerKey {
        case "log.retention.ms": chain = ["log.retention.ms", "log.retention.minutes", "log.retention.hours"]
        case "log.roll.ms": chain = ["log.roll.ms", "log.roll.hours"]
        case "log.flush.interval.ms": chain = ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"]
        default: chain = [brokerKey]
        }
        return chain.flatMap { brokerSynonyms($0, config: config, sensitive: false) }.filter { $0.value != nil }
    }

    private static func brokerConfig(_ def: ConfigDefinition, config: BrokerConfig, request: DescribeConfigsRequest) -> DescribeConfigsResponse.Config {
        let value = config.values[def.name] ?? nil
        let source = config.source(def.name)
        let sensitive = def.type == .password
        return DescribeConfigsResponse.Config(
            name: def.name, value: sensitive ? nil : value, readOnly: !ConfigDefinitions.dynamicBrokerKeys.contains(def.name),
            isDefault: source == .defaultValue, configSource: source.rawValue, isSensitive: sensitive,
            synonyms: request.includeSynonyms ? brokerSynonyms(def.name, config: config, sensitive: sensitive) : [],
            configType: kafkaConfigType(def.type), documentation: request.includeDocumentation ? def.documentation : nil)
    }

    private static func topicConfig(_ def: ConfigDefinition, override: String?, config: BrokerConfig,
                                    request: DescribeConfigsRequest) -> DescribeConfigsResponse.Config {
        var synonyms: [DescribeConfigsResponse.Synonym] = []
        if let override { synonyms.append(.init(name: def.name, value: override, source: DescribeConfigsResponse.Source.dynamicTopicConfig)) }
        if let brokerKey = def.brokerKey { synonyms += inheritedSynonyms(brokerKey, config: config) }
        let inherited = config.brokerDefault(forTopicKey: def)
        let source = override != nil ? DescribeConfigsResponse.Source.dynamicTopicConfig
            : synonyms.first?.source ?? DescribeConfigsResponse.Source.defaultConfig
        return DescribeConfigsResponse.Config(
            name: def.name, value: override ?? inherited, readOnly: false, isDefault: source == DescribeConfigsResponse.Source.defaultConfig,
            configSource: source, synonyms: request.includeSynonyms ? synonyms : [], configType: kafkaConfigType(def.type),
            documentation: request.includeDocumentation ? def.documentation : nil)
    }

    /// Kafka's `ConfigDef.Type` ids as DescribeConfigs v3+ reports them.
    static func kafkaConfigType(_ type: ConfigType) -> Int8 {
        switch type {
        case .boolean: return 1
        case .string: return 2
        case .int: return 3
        case .short: return 4
        case .long: return 5
        case .double: return 6
        case .list: return 7
        case .password: return 9
        }
    }
}

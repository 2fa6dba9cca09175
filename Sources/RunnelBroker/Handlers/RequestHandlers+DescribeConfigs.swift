import KafkaProtocol

extension RequestHandlers {
    /// DescribeConfigs v1-4 from the configuration definitions: for a topic (resource type 2) every
    /// topic key with its effective value, DYNAMIC_TOPIC_CONFIG for an override, else the broker key
    /// it inherits (STATIC_BROKER_CONFIG when set in the properties file or an override,
    /// DEFAULT_CONFIG otherwise), with that chain as synonyms (KIP-226); for this broker
    /// (resource type 4, named by its node id, or "" for cluster-wide defaults) every broker key.
    /// Nothing is dynamically alterable yet, so broker keys are read-only.
    func describeConfigs(_ request: DescribeConfigsRequest, version: Int16) async -> DescribeConfigsResponse {
        let image = await controller.image
        var results: [DescribeConfigsResponse.Result] = []
        for resource in request.resources {
            let keys = resource.configurationKeys.map(Set.init)
            func wanted(_ name: String) -> Bool { keys?.contains(name) ?? true }
            func result(_ code: ErrorCode, _ message: String?, _ configs: [DescribeConfigsResponse.Config] = []) -> DescribeConfigsResponse.Result {
                .init(errorCode: code, errorMessage: message, resourceType: resource.resourceType, resourceName: resource.resourceName,
                      configs: configs)
            }
            switch resource.resourceType {
            case 2:
                guard let topic = image.topics[resource.resourceName] else {
                    results.append(result(.unknownTopicOrPartition, "Topic '\(resource.resourceName)' does not exist."))
                    continue
                }
                let configs = ConfigDefinitions.topic.filter { wanted($0.name) }.map { def in
                    topicConfig(def, override: topic.configs[def.name], request: request)
                }
                results.append(result(.none, nil, configs))
            case 4:
                guard resource.resourceName.isEmpty || resource.resourceName == String(nodeID) else {
                    results.append(result(.invalidRequest, "Broker \(resource.resourceName) is not this broker (\(nodeID))."))
                    continue
                }
                let configs = ConfigDefinitions.broker.filter { wanted($0.name) }.map { def in
                    brokerConfig(def, request: request)
                }
                results.append(result(.none, nil, configs))
            default:
                results.append(result(.invalidRequest, "Resource type \(resource.resourceType) is not supported."))
            }
        }
        return DescribeConfigsResponse(results: results)
    }

    private func brokerSource(_ key: String) -> Int8 {
        config.explicitKeys.contains(key) ? DescribeConfigsResponse.Source.staticBrokerConfig : DescribeConfigsResponse.Source.defaultConfig
    }

    private func brokerConfig(_ def: ConfigDefinition, request: DescribeConfigsRequest) -> DescribeConfigsResponse.Config {
        let value = config.values[def.name] ?? nil
        let source = brokerSource(def.name)
        let sensitive = def.type == .password
        return DescribeConfigsResponse.Config(
            name: def.name, value: sensitive ? nil : value, readOnly: true, isDefault: source == DescribeConfigsResponse.Source.defaultConfig,
            configSource: source, isSensitive: sensitive,
            synonyms: request.includeSynonyms ? [.init(name: def.name, value: sensitive ? nil : value, source: source)] : [],
            configType: Self.kafkaConfigType(def.type), documentation: request.includeDocumentation ? def.documentation : nil)
    }

    private func topicConfig(_ def: ConfigDefinition, override: String?, request: DescribeConfigsRequest) -> DescribeConfigsResponse.Config {
        var synonyms: [DescribeConfigsResponse.Synonym] = []
        if let override { synonyms.append(.init(name: def.name, value: override, source: DescribeConfigsResponse.Source.dynamicTopicConfig)) }
        if let brokerKey = def.brokerKey {
            synonyms.append(.init(name: brokerKey, value: config.values[brokerKey] ?? nil, source: brokerSource(brokerKey)))
        }
        let inherited = config.brokerDefault(forTopicKey: def)
        let source = override != nil ? DescribeConfigsResponse.Source.dynamicTopicConfig
            : def.brokerKey.map(brokerSource) ?? DescribeConfigsResponse.Source.defaultConfig
        return DescribeConfigsResponse.Config(
            name: def.name, value: override ?? inherited, readOnly: false, isDefault: override == nil, configSource: source,
            synonyms: request.includeSynonyms ? synonyms : [], configType: Self.kafkaConfigType(def.type),
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

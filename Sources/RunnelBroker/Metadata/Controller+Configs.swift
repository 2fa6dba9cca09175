import KafkaProtocol
import LogStorage

/// One requested config change (IncrementalAlterConfigs `AlterableConfig`, KIP-339).
struct ConfigChange: Sendable, Equatable {
    /// Kafka's `AlterConfigOp.OpType` ids.
    enum Operation: Int8, Sendable {
        case set = 0, delete = 1, append = 2, subtract = 3
    }
    var name: String
    var operation: Operation
    var value: String?
}

/// Why a config change was refused: the Kafka error and a message for the client.
struct ConfigChangeError: Error, Equatable {
    var code: ErrorCode
    var message: String
}

extension Controller {
    /// The static configuration with the dynamic broker configs in `image` layered over it.
    static func effectiveConfig(_ staticConfig: BrokerConfig, image: MetadataImage, nodeID: Int32) -> BrokerConfig {
        func dynamic(_ resource: String) -> [String: String] {
            (image.brokerConfigs[resource] ?? [:]).filter { ConfigDefinitions.dynamicBrokerKeys.contains($0.key) }
        }
        return staticConfig.applyingDynamic(clusterDefaults: dynamic(""), broker: dynamic(String(nodeID)))
    }

    /// Changes the dynamic configs of a topic (resource type 2) or of brokers (type 4: "" for the
    /// cluster-wide default, or this broker's id) (KIP-133 AlterConfigs, KIP-339
    /// IncrementalAlterConfigs, KIP-226 dynamic broker configs).
    ///
    /// The new values are written to the metadata log (`ConfigRecord`, a null value removes the
    /// key) before they apply; then every affected partition is reconfigured, so later appends,
    /// rolls, retention and cleaning use them.
    ///
    /// - Parameters:
    ///   - replaceAll: AlterConfigs semantics: the given keys become the resource's whole set of
    ///     dynamic values and every other key returns to its default. Otherwise the operations
    ///     apply one by one to the current values (IncrementalAlterConfigs).
    ///   - validateOnly: check everything, change nothing.
    /// - Throws: ``ConfigChangeError``: UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist;
    ///   INVALID_REQUEST for another broker, an unknown resource type, a read-only broker key, a key
    ///   named twice or a SET without a value; INVALID_CONFIG for an unknown key, an invalid value
    ///   or APPEND/SUBTRACT on a key that is not a list; KAFKA_STORAGE_ERROR when the metadata log
    ///   cannot be written.
    func alterConfigs(resourceType: Int8, resourceName: String, changes: [ConfigChange], replaceAll: Bool,
                      validateOnly: Bool) async throws {
        try await serialized {
            try await alterConfigsNow(resourceType: resourceType, resourceName: resourceName, changes: changes,
                                      replaceAll: replaceAll, validateOnly: validateOnly)
        }
    }

    private func alterConfigsNow(resourceType: Int8, resourceName: String, changes: [ConfigChange], replaceAll: Bool,
                                 validateOnly: Bool) async throws {
        let isTopic: Bool
        let current: [String: String]
        switch resourceType {
        case MetadataRecord.topicResourceType:
            guard let topic = image.topics[resourceName] else {
                throw ConfigChangeError(code: .unknownTopicOrPartition, message: "Topic '\(resourceName)' does not exist.")
            }
            isTopic = true
            current = topic.configs
        case MetadataRecord.brokerResourceType:
            let known = resourceName.isEmpty || resourceName == String(nodeID)
                || (cluster != nil && Int32(resourceName).map { image.brokers[$0] != nil } == true)
            guard known else {
                throw ConfigChangeError(code: .invalidRequest,
                                        message: "Broker '\(resourceName)' is not this broker (\(nodeID)); use its id or \"\" for the cluster-wide default.")
            }
            isTopic = false
            current = image.brokerConfigs[resourceName] ?? [:]
        default:
            throw ConfigChangeError(code: .invalidRequest, message: "Resource type \(resourceType) is not supported.")
        }
        // What a key holds when the resource does not set it, the base of APPEND and SUBTRACT.
        let inherited = isTopic ? config.topicDefaults : config.staticValues.compactMapValues { $0 }
        let updated = try Self.apply(changes, to: current, inherited: inherited, topic: isTopic, replaceAll: replaceAll)
        if validateOnly || updated == current { return }

        var records: [MetadataRecord] = []
        for key in Set(current.keys).union(updated.keys).sorted() where current[key] != updated[key] {
            records.append(.config(resourceType: resourceType, resourceName: resourceName, name: key, value: updated[key]))
        }
        do {
            try await commit(records)
        } catch let error as ControllerWriteError {
            throw ConfigChangeError(code: error.code, message: error.message)
        }
        let changed = records.compactMap { r -> String? in
            if case .config(_, _, let name, let value) = r { return "\(name)=\(value ?? "<default>")" }
            return nil
        }
        logger.info("configs altered", metadata: ["resource": "\(isTopic ? "topic" : "broker") '\(resourceName)'",
                                                  "changes": "\(changed.joined(separator: ", "))"])
    }

    /// The resource's values after `changes`, validated key by key.
    /// - Parameter inherited: the value each key has when the resource does not set it.
    static func apply(_ changes: [ConfigChange], to current: [String: String], inherited: [String: String], topic: Bool,
                      replaceAll: Bool) throws -> [String: String] {
        var seen: Set<String> = []
        var out = replaceAll ? [:] : current
        for change in changes {
            guard seen.insert(change.name).inserted else {
                throw ConfigChangeError(code: .invalidRequest, message: "Config '\(change.name)' is named more than once.")
            }
            guard let def = topic ? ConfigDefinitions.topicKey(change.name) : ConfigDefinitions.brokerKey(change.name) else {
                throw ConfigChangeError(code: .invalidConfig, message: "Unknown \(topic ? "topic" : "broker") config name: \(change.name)")
            }
            if !topic, !ConfigDefinitions.dynamicBrokerKeys.contains(def.name) {
                throw ConfigChangeError(code: .invalidRequest,
                                        message: "Cannot update these configs dynamically: \(def.name) (set it in server.properties and restart)")
            }
            switch change.operation {
            case .delete:
                out.removeValue(forKey: def.name)
                continue
            case .set:
                guard let value = change.value else {
                    if replaceAll { out.removeValue(forKey: def.name); continue }
                    throw ConfigChangeError(code: .invalidRequest, message: "Null value not supported for: \(def.name)")
                }
                out[def.name] = value.trimmingWhitespace()
            case .append, .subtract:
                guard def.type == .list else {
                    throw ConfigChangeError(code: .invalidConfig,
                                            message: "Config value append/subtract is not allowed for config key \(def.name), which is not a list")
                }
                let base = out[def.name] ?? inherited[def.name] ?? def.defaultValue ?? ""
                var items = base.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                let given = (change.value ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                if change.operation == .append {
                    for item in given where !items.contains(item) { items.append(item) }
                } else {
                    items.removeAll { given.contains($0) }
                }
                out[def.name] = items.joined(separator: ",")
            }
            do {
                try def.validate(out[def.name] ?? "")
            } catch {
                throw ConfigChangeError(code: .invalidConfig, message: "\(error)")
            }
        }
        return out
    }
}

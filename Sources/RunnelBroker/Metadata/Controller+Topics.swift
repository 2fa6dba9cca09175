import Foundation
import KafkaProtocol
import LogStorage

extension Controller {
    /// The outcome of creating one topic.
    struct CreateTopicResult: Sendable {
        var errorCode: ErrorCode
        var errorMessage: String?
        var numPartitions: Int32
        var replicationFactor: Int16
        var topicID: UUIDBytes
        /// The topic's effective configs (override or broker default).
        var configs: [String: String]
        /// The keys of `configs` that the request set explicitly.
        var overriddenKeys: Set<String> = []
    }

    /// Creates a topic (CreateTopics, auto-creation).
    /// - Parameters:
    ///   - numPartitions: -1 means `num.partitions` (KIP-464).
    ///   - replicationFactor: -1 means `default.replication.factor`; at most the number of live
    ///     brokers (INVALID_REPLICATION_FACTOR beyond).
    ///   - configs: topic key → value overrides; null values are ignored as in Kafka.
    ///   - validateOnly: check everything but change nothing.
    ///   - allowInternal: only the broker itself creates internal topics (`__consumer_offsets`);
    ///     clients asking for one get INVALID_REQUEST, as in Kafka.
    func createTopic(name: String, numPartitions: Int32, replicationFactor: Int16,
                     configs: [(name: String, value: String?)], validateOnly: Bool, allowInternal: Bool = false,
                     assignment: [[Int32]]? = nil) async -> CreateTopicResult {
        await serialized {
            await createTopicNow(name: name, numPartitions: numPartitions, replicationFactor: replicationFactor, configs: configs,
                                 validateOnly: validateOnly, allowInternal: allowInternal, assignment: assignment)
        }
    }

    /// - Parameter assignment: the replicas of each partition (the first is the preferred leader),
    ///   from a manual assignment; nil places them.
    private func createTopicNow(name: String, numPartitions: Int32, replicationFactor: Int16,
                                configs: [(name: String, value: String?)], validateOnly: Bool, allowInternal: Bool,
                                assignment manual: [[Int32]]?) async -> CreateTopicResult {
        let partitionCount = numPartitions == -1 ? Int32(config.int("num.partitions")) : numPartitions
        let rf = replicationFactor == -1 ? Int16(config.int("default.replication.factor")) : replicationFactor
        var result = CreateTopicResult(errorCode: .none, errorMessage: nil, numPartitions: partitionCount,
                                       replicationFactor: rf, topicID: .zero, configs: [:])
        func fail(_ code: ErrorCode, _ message: String) -> CreateTopicResult {
            result.errorCode = code
            result.errorMessage = message
            return result
        }
        if let problem = TopicName.problem(name) { return fail(.invalidTopicException, problem) }
        if name.hasPrefix("__cluster_metadata") { return fail(.invalidTopicException, "'\(name)' is reserved for the metadata log") }
        if !allowInternal, TopicName.isInternal(name) {
            return fail(.invalidRequest, "Creation of internal topic \(name) is prohibited.")
        }
        if image.topics[name] != nil { return fail(.topicAlreadyExists, "Topic '\(name)' already exists.") }
        let key = TopicName.collisionKey(name)
        if let other = image.topics.keys.first(where: { TopicName.collisionKey($0) == key }) {
            return fail(.invalidTopicException, "Topic '\(name)' collides with existing topic: \(other)")
        }
        guard partitionCount >= 1 else { return fail(.invalidPartitions, "Number of partitions must be larger than 0.") }
        guard partitionCount <= 100_000 else { return fail(.invalidPartitions, "Number of partitions \(partitionCount) is above the limit of 100000.") }
        guard rf >= 1 else { return fail(.invalidReplicationFactor, "Replication factor must be larger than 0.") }
        let brokers = placementBrokers
        guard !brokers.isEmpty else {
            return fail(.invalidReplicationFactor, "Unable to replicate the partition \(rf) time(s): no broker is registered and unfenced.")
        }
        guard Int(rf) <= brokers.count else {
            return fail(.invalidReplicationFactor, "Replication factor: \(rf) larger than available brokers: \(brokers.count).")
        }
        var overrides: [String: String] = [:]
        for (key, value) in configs {
            guard let def = ConfigDefinitions.topicKey(key) else {
                return fail(.invalidConfig, "Unknown topic config name: \(key)")
            }
            guard let value else { continue }
            do { try def.validate(value) } catch { return fail(.invalidConfig, "\(error)") }
            overrides[key] = value.trimmingWhitespace()
        }
        var effective = config.topicDefaults
        for (k, v) in overrides { effective[k] = v }
        result.configs = effective
        result.overriddenKeys = Set(overrides.keys)
        if validateOnly { return result }

        let topicID = UUIDBytes.random()
        var records: [MetadataRecord] = [.topic(name: name, topicID: topicID)]
        for (k, v) in overrides.sorted(by: { $0.key < $1.key }) {
            records.append(.config(resourceType: MetadataRecord.topicResourceType, resourceName: name, name: k, value: v))
        }
        let replicaLists = manual ?? placeReplicas(count: Int(partitionCount), replicationFactor: Int(rf), brokers: brokers)
        for p in 0..<partitionCount {
            let replicas = replicaLists[Int(p)]
            records.append(.partition(.init(partitionID: p, topicID: topicID, replicas: replicas, isr: replicas,
                                            leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0)))
        }
        do {
            try await commit(records)
        } catch let error as ControllerWriteError {
            return fail(error.code, error.message)
        } catch {
            return fail(.unknownServerError, "\(error)")
        }
        result.topicID = topicID
        return result
    }

    /// Whether `clientID` is the inter-broker client id of a registered broker (`runnel-broker-<id>`),
    /// which may create internal topics. Without authentication (the security issue) this is a
    /// convention, not a proof.
    func isBrokerClientID(_ clientID: String) -> Bool {
        let prefix = ControllerChannel.clientIDPrefix
        guard cluster != nil, clientID.hasPrefix(prefix), let id = Int32(clientID.dropFirst(prefix.count)) else { return false }
        return image.brokers[id] != nil
    }

    /// The brokers new partitions may be placed on: registered and unfenced brokers in a cluster,
    /// this node when standalone. Sorted by id.
    var placementBrokers: [Int32] {
        guard cluster != nil else { return [nodeID] }
        return image.brokers.values.filter { !$0.fenced && !$0.inControlledShutdown }.map(\.brokerID).sorted()
    }

    /// Leaders for `count` new partitions: round-robin over `brokers` from the broker that leads
    /// the fewest partitions now, so leadership stays balanced across topics (Kafka's
    /// `StripedReplicaPlacer` starts at a random broker instead).
    func placeLeaders(count: Int, brokers: [Int32]) -> [Int32] {
        guard !brokers.isEmpty else { return [] }
        var load: [Int32: Int] = Dictionary(uniqueKeysWithValues: brokers.map { ($0, 0) })
        for topic in image.topics.values {
            for p in topic.partitions.values where load[p.leader] != nil { load[p.leader]! += 1 }
        }
        var out: [Int32] = []
        for _ in 0..<count {
            let next = brokers.min { (load[$0]!, $0) < (load[$1]!, $1) }!
            out.append(next)
            load[next]! += 1
        }
        return out
    }

    /// Deletes a topic by name: a RemoveTopicRecord; every node hosting its partitions then renames
    /// their directories `<topic>-<partition>.<id>-delete` and removes them.
    func deleteTopic(name: String) async -> (ErrorCode, String?) {
        await serialized {
            if TopicName.isInternal(name) { return (.invalidRequest, "Deleting internal topic \(name) is not allowed.") }
            guard let topic = image.topics[name] else { return (.unknownTopicOrPartition, "This server does not host this topic.") }
            do {
                try await commit([.removeTopic(topicID: topic.topicID)])
            } catch let error as ControllerWriteError {
                return (error.code, error.message)
            } catch {
                return (.unknownServerError, "\(error)")
            }
            return (.none, nil)
        }
    }

}

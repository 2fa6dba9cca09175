import KafkaProtocol

extension RequestHandlers {
    /// ElectLeaders v0-2 (KIP-183, KIP-460): preferred or unclean leader elections, run by the
    /// active controller (forwarded there from any broker, KIP-590).
    /// Needs ALTER on the cluster: refused, every partition gets CLUSTER_AUTHORIZATION_FAILED.
    func electLeaders(_ request: ElectLeadersRequest, version: Int16) async -> ElectLeadersResponse {
        func allFailed(_ code: ErrorCode, _ message: String) -> ElectLeadersResponse {
            ElectLeadersResponse(errorCode: version >= 1 ? code : .none, replicaElectionResults:
                (request.topicPartitions ?? []).map { t in
                    .init(topic: t.topic, partitionResults: t.partitions.map { .init(partitionID: $0, errorCode: code, errorMessage: message) })
                })
        }
        if let refused = clusterAuthorizationError(.alter) { return allFailed(refused, "Cluster authorization failed.") }
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure): return allFailed(failure.code, "The active controller did not answer.")
            }
        }
        let results = await controller.electLeaders(type: request.electionType, partitions: request.topicPartitions.map { topics in
            topics.flatMap { t in t.partitions.map { TopicPartition(t.topic, $0) } }
        })
        var byTopic: [String: [ElectLeadersResponse.PartitionResult]] = [:]
        for (tp, outcome) in results {
            byTopic[tp.topic, default: []].append(.init(partitionID: tp.partition, errorCode: outcome.code, errorMessage: outcome.message))
        }
        return ElectLeadersResponse(replicaElectionResults: byTopic.keys.sorted().map { topic in
            .init(topic: topic, partitionResults: byTopic[topic]!.sorted { $0.partitionID < $1.partitionID })
        })
    }
}

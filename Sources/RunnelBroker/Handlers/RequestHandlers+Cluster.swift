import KafkaProtocol

extension RequestHandlers {
    /// CreatePartitions v0-3: a topic named twice in one request gets INVALID_REQUEST, as in Kafka.
    func createPartitions(_ request: CreatePartitionsRequest, version: Int16) async -> CreatePartitionsResponse {
        CreatePartitionsResponse(results: await authorizingEach(request.topics) {
            topicAuthorizationError(.alter, topic: $0.name)
        } refused: {
            .init(name: $0.name, errorCode: $1, errorMessage: "Authorization failed.")
        } allowed: { allowed in
            var inner = request
            inner.topics = allowed
            return await createAuthorizedPartitions(inner, version: version).results
        })
    }

    private func createAuthorizedPartitions(_ request: CreatePartitionsRequest, version: Int16) async -> CreatePartitionsResponse {
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure):
                return CreatePartitionsResponse(results: request.topics.map {
                    .init(name: $0.name, errorCode: failure.code, errorMessage: "The active controller did not answer.")
                })
            }
        }
        var seen: [String: Int] = [:]
        for t in request.topics { seen[t.name, default: 0] += 1 }
        var results: [CreatePartitionsResponse.Result] = []
        for t in request.topics {
            if seen[t.name, default: 0] > 1 {
                results.append(.init(name: t.name, errorCode: .invalidRequest, errorMessage: "Duplicate topic in request."))
                continue
            }
            let (code, message) = await controller.createPartitions(topic: t.name, count: t.count, assignments: t.assignments,
                                                                     validateOnly: request.validateOnly)
            results.append(.init(name: t.name, errorCode: code, errorMessage: message))
        }
        return CreatePartitionsResponse(results: results)
    }

    /// DescribeCluster v0-1 (KIP-700): the live brokers and the broker named as controller (this
    /// broker when standalone). Needs no permission, as on a Kafka broker.
    func describeCluster(_ request: DescribeClusterRequest, version: Int16, listener: String? = nil) async -> DescribeClusterResponse {
        guard request.endpointType == 1 else {
            // UNSUPPORTED_ENDPOINT_TYPE (119): only brokers are described on this listener.
            return DescribeClusterResponse(errorCode: ErrorCode(119), errorMessage: "Only endpoint type 1 (brokers) is supported.",
                                           endpointType: request.endpointType, clusterID: clusterID, controllerID: -1, brokers: [])
        }
        let brokers = liveBrokers(await controller.image, listener: listener).map {
            DescribeClusterResponse.Broker(brokerID: $0.nodeID, host: $0.host, port: $0.port, rack: $0.rack)
        }
        // KIP-430: the operations the principal may perform on the cluster, when asked.
        let operations = request.includeClusterAuthorizedOperations ? authorizedOperations(.cluster) : Int32.min
        return DescribeClusterResponse(clusterID: clusterID, controllerID: await controller.advertisedControllerID(), brokers: brokers,
                                       clusterAuthorizedOperations: operations)
    }
}

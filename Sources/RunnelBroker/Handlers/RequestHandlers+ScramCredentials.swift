import KafkaProtocol

extension RequestHandlers {
    /// DescribeUserScramCredentials v0 (KIP-554): each user's SCRAM mechanisms and iteration
    /// counts from this broker's metadata image; never salts or keys.
    ///
    /// Needs DESCRIBE on the cluster (else CLUSTER_AUTHORIZATION_FAILED in the top-level error), as Kafka.
    func describeUserScramCredentials(_ request: DescribeUserScramCredentialsRequest, version: Int16) async -> DescribeUserScramCredentialsResponse {
        if let refused = clusterAuthorizationError(.describe) {
            return DescribeUserScramCredentialsResponse(errorCode: refused, errorMessage: "Cluster authorization failed.", results: [])
        }
        return DescribeUserScramCredentialsResponse(results: await controller.describeScramCredentials(users: request.users))
    }

    /// AlterUserScramCredentials v0 (KIP-554): runs on the active controller (a broker forwards it,
    /// KIP-590), which writes the accepted changes to the metadata log; every broker then applies
    /// the committed records to the credentials its connections authenticate against.
    ///
    /// Needs ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED for every user), as Kafka.
    func alterUserScramCredentials(_ request: AlterUserScramCredentialsRequest, version: Int16) async -> AlterUserScramCredentialsResponse {
        func allFailed(_ code: ErrorCode, _ message: String) -> AlterUserScramCredentialsResponse {
            var users: [String] = []
            for name in request.deletions.map(\.name) + request.upsertions.map(\.name) where !users.contains(name) { users.append(name) }
            return AlterUserScramCredentialsResponse(results: users.map { .init(user: $0, errorCode: code, errorMessage: message) })
        }
        if let refused = clusterAuthorizationError(.alter) { return allFailed(refused, "Cluster authorization failed.") }
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure): return allFailed(failure.code, "The active controller did not answer.")
            }
        }
        return AlterUserScramCredentialsResponse(results: await controller.alterScramCredentials(deletions: request.deletions,
                                                                                                  upsertions: request.upsertions))
    }
}

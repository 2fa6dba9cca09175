import KafkaProtocol

extension RequestHandlers {
    /// DescribeUserScramCredentials v0 (KIP-554): each user's SCRAM mechanisms and iteration
    /// counts from this broker's metadata image; never salts or keys.
    ///
    /// Authorization point: Kafka requires DESCRIBE on CLUSTER (CLUSTER_AUTHORIZATION_FAILED in
    /// the top-level error otherwise); an authorizer plugs in here.
    func describeUserScramCredentials(_ request: DescribeUserScramCredentialsRequest, version: Int16) async -> DescribeUserScramCredentialsResponse {
        DescribeUserScramCredentialsResponse(results: await controller.describeScramCredentials(users: request.users))
    }

    /// AlterUserScramCredentials v0 (KIP-554): runs on the active controller (a broker forwards it,
    /// KIP-590), which writes the accepted changes to the metadata log; every broker then applies
    /// the committed records to the credentials its connections authenticate against.
    ///
    /// Authorization point: Kafka requires ALTER on CLUSTER (CLUSTER_AUTHORIZATION_FAILED for every
    /// user otherwise); an authorizer plugs in here.
    func alterUserScramCredentials(_ request: AlterUserScramCredentialsRequest, version: Int16) async -> AlterUserScramCredentialsResponse {
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure):
                var users: [String] = []
                for name in request.deletions.map(\.name) + request.upsertions.map(\.name) where !users.contains(name) { users.append(name) }
                return AlterUserScramCredentialsResponse(results: users.map {
                    .init(user: $0, errorCode: failure.code, errorMessage: "The active controller did not answer.")
                })
            }
        }
        return AlterUserScramCredentialsResponse(results: await controller.alterScramCredentials(deletions: request.deletions,
                                                                                                  upsertions: request.upsertions))
    }
}

import KafkaProtocol

extension RequestHandlers {
    /// DescribeClientQuotas v0-1 (KIP-546): the quota entities the filter selects, with their
    /// values. A bad filter answers INVALID_REQUEST with null entries.
    func describeClientQuotas(_ request: DescribeClientQuotasRequest, version: Int16) async -> DescribeClientQuotasResponse {
        if let refused = clusterAuthorizationError(.describeConfigs) {
            return DescribeClientQuotasResponse(errorCode: refused, errorMessage: "Cluster authorization failed.", entries: nil)
        }
        do {
            return DescribeClientQuotasResponse(entries: try quotas.quotas.describe(request.components, strict: request.strict))
        } catch let error as ConfigChangeError {
            return DescribeClientQuotasResponse(errorCode: error.code, errorMessage: error.message, entries: nil)
        } catch {
            return DescribeClientQuotasResponse(errorCode: .unknownServerError, errorMessage: "\(error)", entries: nil)
        }
    }

    /// AlterClientQuotas v0-1 (KIP-546): writes the changes to the metadata log, then puts the
    /// new quotas in force for the next request of every client.
    /// In a cluster a broker that is not the active controller forwards the request (KIP-590);
    /// every broker then applies the committed records to its quotas.
    func alterClientQuotas(_ request: AlterClientQuotasRequest, version: Int16) async -> AlterClientQuotasResponse {
        if let refused = clusterAuthorizationError(.alterConfigs) {
            return AlterClientQuotasResponse(entries: request.entries.map {
                .init(errorCode: refused, errorMessage: "Cluster authorization failed.", entity: $0.entity)
            })
        }
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure):
                return AlterClientQuotasResponse(entries: request.entries.map {
                    .init(errorCode: failure.code, errorMessage: "The active controller did not answer.", entity: $0.entity)
                })
            }
        }
        let results = await controller.alterClientQuotas(request.entries, validateOnly: request.validateOnly)
        if !request.validateOnly { quotas.replace(await controller.clientQuotas) }
        return AlterClientQuotasResponse(entries: results)
    }
}

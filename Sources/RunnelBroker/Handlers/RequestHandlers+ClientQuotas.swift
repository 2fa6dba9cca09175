import KafkaProtocol

extension RequestHandlers {
    /// DescribeClientQuotas v0-1 (KIP-546): the quota entities the filter selects, with their
    /// values. A bad filter answers INVALID_REQUEST with null entries.
    func describeClientQuotas(_ request: DescribeClientQuotasRequest, version: Int16) async -> DescribeClientQuotasResponse {
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
    func alterClientQuotas(_ request: AlterClientQuotasRequest, version: Int16) async -> AlterClientQuotasResponse {
        let results = await controller.alterClientQuotas(request.entries, validateOnly: request.validateOnly)
        if !request.validateOnly { quotas.replace(await controller.clientQuotas) }
        return AlterClientQuotasResponse(entries: results)
    }
}

import KafkaProtocol

extension RequestHandlers {
    /// AlterConfigs v0-2 (KIP-133): each resource's dynamic configs become exactly the given keys;
    /// the others return to their defaults. Topics (type 2) and brokers (type 4, "" or this
    /// broker's id) are supported; only the broker keys that supply topic defaults are dynamic.
    /// Each resource succeeds or fails on its own (see ``Controller/alterConfigs``).
    /// Needs ALTER_CONFIGS on each topic, or on the cluster for broker resources.
    func alterConfigs(_ request: AlterConfigsRequest, version: Int16) async -> AlterConfigsResponse {
        AlterConfigsResponse(responses: await authorizingEach(request.resources) {
            configAuthorizationError(.alterConfigs, type: $0.resourceType, name: $0.resourceName)
        } refused: {
            .init(errorCode: $1, errorMessage: "Authorization failed.", resourceType: $0.resourceType, resourceName: $0.resourceName)
        } allowed: { allowed in
            var inner = request
            inner.resources = allowed
            return await alterAuthorizedConfigs(inner, version: version).responses
        })
    }

    private func alterAuthorizedConfigs(_ request: AlterConfigsRequest, version: Int16) async -> AlterConfigsResponse {
        if let forwarded = await forwardIfNeeded(request, version: version) {
            return forwardedOrFailed(forwarded, request.resources.map { ($0.resourceType, $0.resourceName) })
        }
        var results: [AlterConfigsResponse.Result] = []
        for resource in request.resources {
            let changes = resource.configs.map { ConfigChange(name: $0.name, operation: .set, value: $0.value) }
            results.append(await alter(type: resource.resourceType, name: resource.resourceName, changes: changes,
                                       replaceAll: true, validateOnly: request.validateOnly))
        }
        return AlterConfigsResponse(responses: results)
    }

    /// IncrementalAlterConfigs v0-1 (KIP-339): SET, DELETE, APPEND and SUBTRACT (the last two only
    /// on list keys such as `cleanup.policy`); keys not named keep their values. An unknown
    /// operation id is INVALID_REQUEST for its resource.
    /// Needs ALTER_CONFIGS as AlterConfigs does.
    func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest, version: Int16) async -> AlterConfigsResponse {
        AlterConfigsResponse(responses: await authorizingEach(request.resources) {
            configAuthorizationError(.alterConfigs, type: $0.resourceType, name: $0.resourceName)
        } refused: {
            .init(errorCode: $1, errorMessage: "Authorization failed.", resourceType: $0.resourceType, resourceName: $0.resourceName)
        } allowed: { allowed in
            var inner = request
            inner.resources = allowed
            return await incrementalAlterAuthorizedConfigs(inner, version: version).responses
        })
    }

    private func incrementalAlterAuthorizedConfigs(_ request: IncrementalAlterConfigsRequest, version: Int16) async -> AlterConfigsResponse {
        if let forwarded = await forwardIfNeeded(request, version: version) {
            return forwardedOrFailed(forwarded, request.resources.map { ($0.resourceType, $0.resourceName) })
        }
        var results: [AlterConfigsResponse.Result] = []
        for resource in request.resources {
            var changes: [ConfigChange] = []
            var badOperation: Int8?
            for c in resource.configs {
                guard let op = ConfigChange.Operation(rawValue: c.configOperation) else { badOperation = c.configOperation; break }
                changes.append(ConfigChange(name: c.name, operation: op, value: c.value))
            }
            if let badOperation {
                results.append(.init(errorCode: .invalidRequest, errorMessage: "Unknown config operation \(badOperation)",
                                     resourceType: resource.resourceType, resourceName: resource.resourceName))
                continue
            }
            results.append(await alter(type: resource.resourceType, name: resource.resourceName, changes: changes,
                                       replaceAll: false, validateOnly: request.validateOnly))
        }
        return AlterConfigsResponse(responses: results)
    }

    private func alter(type: Int8, name: String, changes: [ConfigChange], replaceAll: Bool,
                       validateOnly: Bool) async -> AlterConfigsResponse.Result {
        do {
            try await controller.alterConfigs(resourceType: type, resourceName: name, changes: changes,
                                              replaceAll: replaceAll, validateOnly: validateOnly)
            return .init(resourceType: type, resourceName: name)
        } catch let error as ConfigChangeError {
            logLimiter.log(logger, .info, key: "config refused", "config change refused",
                           metadata: ["resource": "\(name)", "error": "\(error.code)", "reason": "\(error.message)"])
            return .init(errorCode: error.code, errorMessage: error.message, resourceType: type, resourceName: name)
        } catch {
            return .init(errorCode: .unknownServerError, errorMessage: "\(error)", resourceType: type, resourceName: name)
        }
    }

    /// A forwarded config change's answer, or the failure for every resource when none came.
    private func forwardedOrFailed(_ forwarded: Result<AlterConfigsResponse, ForwardingFailure>,
                                   _ resources: [(type: Int8, name: String)]) -> AlterConfigsResponse {
        switch forwarded {
        case .success(let response): return response
        case .failure(let failure):
            return AlterConfigsResponse(responses: resources.map {
                .init(errorCode: failure.code, errorMessage: "The active controller did not answer.", resourceType: $0.type, resourceName: $0.name)
            })
        }
    }
}

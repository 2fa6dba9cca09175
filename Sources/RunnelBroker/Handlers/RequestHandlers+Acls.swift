import KafkaProtocol

extension RequestHandlers {
    /// DescribeAcls v0-3 (KIP-140): the ACLs matching the filter, grouped by resource pattern.
    /// Needs DESCRIBE on the cluster (else CLUSTER_AUTHORIZATION_FAILED); SECURITY_DISABLED with no
    /// authorizer; INVALID_REQUEST for a filter with unknown codes. Answered from this broker's
    /// metadata image (ACLs created through another broker appear once their records reach it).
    func describeAcls(_ request: DescribeAclsRequest, version: Int16) async -> DescribeAclsResponse {
        guard authorizer != nil else {
            return DescribeAclsResponse(errorCode: .securityDisabled, errorMessage: "No Authorizer is configured.", resources: [])
        }
        if let refused = clusterAuthorizationError(.describe) {
            return DescribeAclsResponse(errorCode: refused, errorMessage: "Cluster authorization failed.", resources: [])
        }
        let filter: AclFilter
        do {
            filter = try AclFilter(request.filter)
        } catch let error as AclError {
            return DescribeAclsResponse(errorCode: error.code, errorMessage: error.message, resources: [])
        } catch {
            return DescribeAclsResponse(errorCode: .unknownServerError, errorMessage: "\(error)", resources: [])
        }
        let matching = await controller.acls.filter(filter.matches)
        return DescribeAclsResponse(resources: Self.groupedByResource(matching))
    }

    /// CreateAcls v0-3: needs ALTER on the cluster. Runs on the active controller (forwarded by
    /// other brokers, KIP-590), which writes `AccessControlEntryRecord`s; see
    /// ``Controller/createAcls(_:)`` for the per-creation errors.
    func createAcls(_ request: CreateAclsRequest, version: Int16) async -> CreateAclsResponse {
        func allFailed(_ code: ErrorCode, _ message: String) -> CreateAclsResponse {
            CreateAclsResponse(results: request.creations.map { _ in .init(errorCode: code, errorMessage: message) })
        }
        guard authorizer != nil else { return allFailed(.securityDisabled, "No Authorizer is configured.") }
        if let refused = clusterAuthorizationError(.alter) { return allFailed(refused, "Cluster authorization failed.") }
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure): return allFailed(failure.code, "The active controller did not answer.")
            }
        }
        let response = CreateAclsResponse(results: await controller.createAcls(request.creations))
        authorizer?.replace(await controller.acls)
        return response
    }

    /// DeleteAcls v0-3: needs ALTER on the cluster. Runs on the active controller, which removes
    /// every ACL matching a filter and lists, per filter, the ACLs it removed.
    func deleteAcls(_ request: DeleteAclsRequest, version: Int16) async -> DeleteAclsResponse {
        func allFailed(_ code: ErrorCode, _ message: String) -> DeleteAclsResponse {
            DeleteAclsResponse(filterResults: request.filters.map { _ in .init(errorCode: code, errorMessage: message, matchingAcls: []) })
        }
        guard authorizer != nil else { return allFailed(.securityDisabled, "No Authorizer is configured.") }
        if let refused = clusterAuthorizationError(.alter) { return allFailed(refused, "Cluster authorization failed.") }
        if let forwarded = await forwardIfNeeded(request, version: version) {
            switch forwarded {
            case .success(let response): return response
            case .failure(let failure): return allFailed(failure.code, "The active controller did not answer.")
            }
        }
        let response = DeleteAclsResponse(filterResults: await controller.deleteAcls(request.filters))
        authorizer?.replace(await controller.acls)
        return response
    }

    /// ACLs grouped by resource pattern, in a stable order (type, name, pattern type).
    static func groupedByResource(_ acls: [AclBinding]) -> [DescribeAclsResponse.Resource] {
        struct Pattern: Hashable { var type: AclResourceType; var name: String; var pattern: AclPatternType }
        var grouped: [Pattern: [AclBinding]] = [:]
        for acl in acls { grouped[Pattern(type: acl.resourceType, name: acl.resourceName, pattern: acl.patternType), default: []].append(acl) }
        return grouped.keys.sorted { ($0.type.rawValue, $0.name, $0.pattern.rawValue) < ($1.type.rawValue, $1.name, $1.pattern.rawValue) }.map { key in
            let entries = grouped[key]!.sorted { ($0.principal, $0.host, $0.operation.rawValue, $0.permission.rawValue) < ($1.principal, $1.host, $1.operation.rawValue, $1.permission.rawValue) }
            return DescribeAclsResponse.Resource(resourceType: key.type.rawValue, resourceName: key.name, patternType: key.pattern.rawValue,
                                                 acls: entries.map { .init(principal: $0.principal, host: $0.host, operation: $0.operation.rawValue,
                                                                           permissionType: $0.permission.rawValue) })
        }
    }
}

import GroupCoordinator
import KafkaProtocol

extension RequestHandlers {
    /// DescribeGroups v0-5. A group this coordinator does not have is reported as state "Dead"
    /// with no error (Kafka before v6). Member metadata and assignments are shown only for a
    /// Stable group, raw as the members sent them.
    func describeGroups(_ request: DescribeGroupsRequest, client: ClientInfo) async -> DescribeGroupsResponse {
        var out: [DescribeGroupsResponse.Group] = []
        for groupID in request.groups {
            if let refused = groupAuthorizationError(.describe, group: groupID) {
                out.append(DescribeGroupsResponse.Group(errorCode: refused, groupID: groupID))
                continue
            }
            switch await groups.describe(groupID: groupID) {
            case .failure(let error):
                out.append(DescribeGroupsResponse.Group(errorCode: error.code, groupID: groupID))
            case .success(nil):
                out.append(DescribeGroupsResponse.Group(groupID: groupID, groupState: GroupState.dead.rawValue))
            case .success(let group?):
                out.append(DescribeGroupsResponse.Group(
                    groupID: groupID, groupState: group.state.rawValue, protocolType: group.protocolType,
                    protocolData: group.protocolName,
                    members: group.members.map {
                        DescribeGroupsResponse.Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, clientID: $0.clientID,
                                                      clientHost: $0.clientHost, memberMetadata: $0.metadata, memberAssignment: $0.assignment)
                    }))
            }
        }
        // KIP-430: the operations the principal may perform on each group, when asked (v3+).
        if request.includeAuthorizedOperations {
            for i in out.indices where out[i].errorCode == .none { out[i].authorizedOperations = authorizedOperations(.group(out[i].groupID)) }
        }
        return DescribeGroupsResponse(groups: out)
    }

    /// ListGroups v0-4 (v4: `states_filter`, KIP-518; matching is case-insensitive).
    func listGroups(_ request: ListGroupsRequest, client: ClientInfo) async -> ListGroupsResponse {
        switch await groups.listGroups() {
        case .failure(let error):
            return ListGroupsResponse(errorCode: error.code, groups: [])
        case .success(let listings):
            let filter = Set(request.statesFilter.map { $0.lowercased() })
            // DESCRIBE on the cluster lists every group; otherwise only those the principal may describe.
            let everyGroup = authorized(.describe, .cluster)
            return ListGroupsResponse(groups: listings
                .filter { filter.isEmpty || filter.contains($0.state.rawValue.lowercased()) }
                .filter { everyGroup || authorized(.describe, group: $0.groupID) }
                .map { ListGroupsResponse.Group(groupID: $0.groupID, protocolType: $0.protocolType, groupState: $0.state.rawValue) })
        }
    }

    /// DeleteGroups v0-2: NON_EMPTY_GROUP while the group has members, GROUP_ID_NOT_FOUND when
    /// it does not exist; a deleted group's offsets are gone.
    func deleteGroups(_ request: DeleteGroupsRequest, client: ClientInfo) async -> DeleteGroupsResponse {
        var results: [DeleteGroupsResponse.Result] = []
        for groupID in request.groupsNames {
            if let refused = groupAuthorizationError(.delete, group: groupID) {
                results.append(DeleteGroupsResponse.Result(groupID: groupID, errorCode: refused))
                continue
            }
            results.append(DeleteGroupsResponse.Result(groupID: groupID, errorCode: await groups.deleteGroup(groupID: groupID)))
        }
        return DeleteGroupsResponse(results: results)
    }
}

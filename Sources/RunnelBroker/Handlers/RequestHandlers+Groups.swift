import Foundation
import GroupCoordinator
import KafkaProtocol
import NIOCore

/// Who sent a request, for the group APIs that record it (DescribeGroups shows client id and host).
struct ClientInfo: Sendable {
    var version: Int16
    var clientID: String
    var clientHost: String
    /// The listener the request came in on.
    var listenerName: String? = nil
}

extension RequestHandlers {
    /// FindCoordinator v0-4 (v4: batched keys, KIP-699). Groups (key type 0) are coordinated by the
    /// leader of their `__consumer_offsets` partition: this broker. The topic is created on the
    /// first lookup, as Kafka does. For transactional ids (key type 1) this broker is named too,
    /// and InitProducerId then refuses the transactional id (transactions are not supported).
    func findCoordinator(_ request: FindCoordinatorRequest, client: ClientInfo) async -> FindCoordinatorResponse {
        let keys = request.keys(version: client.version)
        var results: [FindCoordinatorResponse.Coordinator] = []
        for key in keys {
            results.append(await coordinator(forKey: key, keyType: request.keyType, listenerName: client.listenerName))
        }
        if client.version >= 4 { return FindCoordinatorResponse(coordinators: results) }
        let only = results[0]
        return FindCoordinatorResponse(errorCode: only.errorCode, errorMessage: client.version >= 1 ? only.errorMessage : nil,
                                       nodeID: only.nodeID, host: only.host, port: only.port)
    }

    /// - Parameter listenerName: the listener the request came in on: the coordinator is named by
    ///   its endpoint of that name.
    private func coordinator(forKey key: String, keyType: Int8, listenerName: String?) async -> FindCoordinatorResponse.Coordinator {
        func failure(_ code: ErrorCode, _ message: String) -> FindCoordinatorResponse.Coordinator {
            FindCoordinatorResponse.Coordinator(key: key, nodeID: -1, host: "", port: -1, errorCode: code, errorMessage: message)
        }
        switch keyType {
        case 0:
            if let refused = groupAuthorizationError(.describe, group: key) { return failure(refused, "Group authorization failed.") }
            // Parked: creating the topic is the controller's and the replicas' work, not this request's.
            if let (code, message) = await RequestTimer.parked({ await offsetsTopic.ensure() }) { return failure(code, message) }
            guard controller.cluster != nil else {
                let own = advertised(for: listenerName)
                return FindCoordinatorResponse.Coordinator(key: key, nodeID: nodeID, host: own.host, port: Int32(own.port))
            }
            // In a cluster: the leader of the group's __consumer_offsets partition.
            let partition = groups.partition(for: key)
            let image = await controller.image
            guard let leader = image.topics[TopicName.consumerOffsets]?.partitions[partition]?.leader,
                  let endpoint = await controller.brokerEndpoint(leader, listener: listenerName) else {
                return failure(.coordinatorNotAvailable, "The coordinator is not available: the leader of \(TopicName.consumerOffsets)-\(partition) is not live.")
            }
            return FindCoordinatorResponse.Coordinator(key: key, nodeID: leader, host: endpoint.host, port: endpoint.port)
        case 1:
            // Named as the transaction coordinator so that the client's next request,
            // InitProducerId with its transactional id, gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
            // a fatal error clients report at once (a coordinator error would be retried until the
            // client's timeout).
            let own = advertised(for: listenerName)
            return FindCoordinatorResponse.Coordinator(key: key, nodeID: nodeID, host: own.host, port: Int32(own.port))
        default:
            return failure(.invalidRequest, "Unknown coordinator key type \(keyType).")
        }
    }

    /// JoinGroup v0-7: held until the rebalance completes (see ``ClassicGroup``).
    func joinGroup(_ request: JoinGroupRequest, client: ClientInfo) async -> JoinGroupResponse {
        if let refused = groupAuthorizationError(.read, group: request.groupID) {
            return JoinGroupResponse(errorCode: refused, generationID: -1, protocolType: nil, protocolName: nil, leader: "", memberID: request.memberID, members: [])
        }
        let instanceID = client.version >= 5 ? request.groupInstanceID : nil
        let input = JoinGroupInput(
            memberID: request.memberID, groupInstanceID: instanceID, clientID: client.clientID, clientHost: client.clientHost,
            sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: client.version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            protocolType: request.protocolType,
            protocols: request.protocols.map { GroupProtocol(name: $0.name, metadata: $0.metadata) },
            requireKnownMemberID: client.version >= 4,
            newMemberID: "\(instanceID ?? client.clientID)-\(UUID().uuidString.lowercased())", waiter: 0)
        // Waiting for the rebalance is not work this broker does for the client (KIP-124).
        let result = await RequestTimer.parked { await groups.join(groupID: request.groupID, input) }
        return JoinGroupResponse(
            errorCode: result.errorCode, generationID: result.generationID, protocolType: result.protocolType,
            protocolName: result.protocolName, leader: result.leaderID, memberID: result.memberID,
            members: result.members.map {
                JoinGroupResponse.Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata)
            })
    }

    /// SyncGroup v0-5: followers are held until the leader's assignments arrive.
    func syncGroup(_ request: SyncGroupRequest, client: ClientInfo) async -> SyncGroupResponse {
        if let refused = groupAuthorizationError(.read, group: request.groupID) {
            return SyncGroupResponse(errorCode: refused, protocolType: nil, protocolName: nil, assignment: ByteBuffer())
        }
        var assignments: [String: ByteBuffer] = [:]
        for a in request.assignments { assignments[a.memberID] = a.assignment }
        let input = SyncGroupInput(memberID: request.memberID, groupInstanceID: client.version >= 3 ? request.groupInstanceID : nil,
                                   generationID: request.generationID,
                                   protocolType: client.version >= 5 ? request.protocolType : nil,
                                   protocolName: client.version >= 5 ? request.protocolName : nil,
                                   assignments: assignments, waiter: 0)
        let result = await RequestTimer.parked { await groups.sync(groupID: request.groupID, input) }
        return SyncGroupResponse(errorCode: result.errorCode, protocolType: result.protocolType, protocolName: result.protocolName,
                                 assignment: result.assignment)
    }

    /// Heartbeat v0-4.
    func heartbeat(_ request: HeartbeatRequest, client: ClientInfo) async -> HeartbeatResponse {
        if let refused = groupAuthorizationError(.read, group: request.groupID) { return HeartbeatResponse(errorCode: refused) }
        let code = await groups.heartbeat(groupID: request.groupID, memberID: request.memberID,
                                          groupInstanceID: client.version >= 3 ? request.groupInstanceID : nil,
                                          generationID: request.generationID)
        return HeartbeatResponse(errorCode: code)
    }

    /// LeaveGroup v0-4: v0-2 name one member; v3+ a batch with per-member errors (KIP-345).
    func leaveGroup(_ request: LeaveGroupRequest, client: ClientInfo) async -> LeaveGroupResponse {
        if let refused = groupAuthorizationError(.read, group: request.groupID) { return LeaveGroupResponse(errorCode: refused) }
        let requested = request.leavingMembers(version: client.version)
        let leaving = requested.map { ClassicGroup.LeavingMember(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID) }
        let (topLevel, perMember) = await groups.leave(groupID: request.groupID, members: leaving)
        guard topLevel == .none else { return LeaveGroupResponse(errorCode: topLevel) }
        if client.version < 3 { return LeaveGroupResponse(errorCode: perMember.first ?? .none) }
        return LeaveGroupResponse(members: zip(requested, perMember).map {
            LeaveGroupResponse.Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, errorCode: $1)
        })
    }
}

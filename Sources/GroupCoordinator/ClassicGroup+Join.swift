import KafkaProtocol
import NIOCore

extension ClassicGroup {
    /// Handles JoinGroup (Kafka's `classicGroupJoin`). The joiner's response is among the returned
    /// actions when it is answered at once; otherwise it is held until the rebalance completes.
    ///
    /// - An unknown dynamic member on v4+ gets MEMBER_ID_REQUIRED with a new id and is kept pending
    ///   for its session timeout (KIP-394); on v0-3 it is admitted at once.
    /// - An unknown static member whose instance id is known replaces the old member: in a Stable
    ///   group whose chosen protocol does not change, without a rebalance (KIP-345).
    /// - A known member rejoining a Stable group unchanged (and not the leader) gets the current
    ///   generation back; otherwise the group rebalances.
    public mutating func join(_ request: JoinGroupInput, now: GroupTime) -> [GroupAction] {
        var actions: [GroupAction] = []
        func fail(_ code: ErrorCode) -> [GroupAction] {
            [.completeJoin(request.waiter, .error(code, memberID: request.memberID))]
        }
        if state == .dead { return fail(.coordinatorNotAvailable) }
        guard supportsProtocols(type: request.protocolType, request.protocols) else { return fail(.inconsistentGroupProtocol) }
        if request.memberID.isEmpty {
            joinUnknownMember(request, now, into: &actions)
        } else {
            joinKnownMember(request, now, into: &actions)
        }
        return actions
    }

    private mutating func joinUnknownMember(_ request: JoinGroupInput, _ now: GroupTime, into actions: inout [GroupAction]) {
        if let instance = request.groupInstanceID, let oldMemberID = staticMembers[instance] {
            replaceStaticMember(request, oldMemberID: oldMemberID, now, into: &actions)
        } else if request.requireKnownMemberID && request.groupInstanceID == nil {
            if members.count + pendingMembers.count >= limits.maxSize {
                actions.append(.completeJoin(request.waiter, .error(.groupMaxSizeReached, memberID: "")))
                return
            }
            pendingMembers[request.newMemberID] = now.monotonicMs + Int64(request.sessionTimeoutMs)
            actions.append(.completeJoin(request.waiter, .error(.memberIDRequired, memberID: request.newMemberID)))
        } else {
            addMemberAndRebalance(request, memberID: request.newMemberID, now, into: &actions)
        }
    }

    private mutating func joinKnownMember(_ request: JoinGroupInput, _ now: GroupTime, into actions: inout [GroupAction]) {
        let memberID = request.memberID
        if pendingMembers[memberID] != nil {
            addMemberAndRebalance(request, memberID: memberID, now, into: &actions)
            return
        }
        if let error = validateMember(memberID, instanceID: request.groupInstanceID) {
            actions.append(.completeJoin(request.waiter, .error(error, memberID: memberID)))
            return
        }
        guard let member = members[memberID] else { return }
        switch state {
        case .preparingRebalance:
            updateMember(request, now, into: &actions)
            maybeCompleteJoin(now, into: &actions)
        case .completingRebalance:
            if member.protocols == request.protocols {
                // The member missed its JoinGroup response: send the current generation again.
                refreshSession(memberID, now)
                let list = memberID == leaderID ? leaderMemberList : []
                actions.append(.completeJoin(request.waiter, currentJoinResult(for: memberID, members: list)))
            } else {
                updateMember(request, now, into: &actions)
                prepareRebalance(now, into: &actions)
            }
        case .stable:
            if memberID == leaderID || member.protocols != request.protocols {
                updateMember(request, now, into: &actions)
                prepareRebalance(now, into: &actions)
            } else {
                refreshSession(memberID, now)
                actions.append(.completeJoin(request.waiter, currentJoinResult(for: memberID, members: [])))
            }
        case .empty, .dead:
            actions.append(.completeJoin(request.waiter, .error(.unknownMemberID, memberID: memberID)))
        }
    }

    /// Adds a member and starts (or joins) a rebalance; its JoinGroup is held.
    private mutating func addMemberAndRebalance(_ request: JoinGroupInput, memberID: String, _ now: GroupTime,
                                                into actions: inout [GroupAction]) {
        pendingMembers[memberID] = nil
        if members.count >= limits.maxSize {
            actions.append(.completeJoin(request.waiter, .error(.groupMaxSizeReached, memberID: memberID)))
            return
        }
        var member = GroupMember(memberID: memberID, groupInstanceID: request.groupInstanceID, clientID: request.clientID,
                                 clientHost: request.clientHost, rebalanceTimeoutMs: request.rebalanceTimeoutMs,
                                 sessionTimeoutMs: request.sessionTimeoutMs, protocolType: request.protocolType,
                                 protocols: request.protocols)
        member.joinWaiter = request.waiter
        member.isNew = true
        member.newMemberDeadlineMs = now.monotonicMs + limits.newMemberJoinTimeoutMs
        add(member)
        if state == .preparingRebalance, initialDelay != nil { initialDelay?.newMemberAdded = true }
        maybePrepareRebalance(now, into: &actions)
        maybeCompleteJoin(now, into: &actions)
    }

    /// Records a known member's new protocols and timeouts and holds its JoinGroup. A JoinGroup the
    /// member already had held is answered REBALANCE_IN_PROGRESS (the client gave up on it).
    private mutating func updateMember(_ request: JoinGroupInput, _ now: GroupTime, into actions: inout [GroupAction]) {
        guard var member = members[request.memberID] else { return }
        if let old = member.joinWaiter { actions.append(.completeJoin(old, .error(.rebalanceInProgress, memberID: member.memberID))) }
        member.protocols = request.protocols
        member.rebalanceTimeoutMs = request.rebalanceTimeoutMs
        member.sessionTimeoutMs = request.sessionTimeoutMs
        member.clientID = request.clientID
        member.clientHost = request.clientHost
        member.joinWaiter = request.waiter
        members[request.memberID] = member
    }

    /// A static member came back with a new member id (Kafka's `updateStaticMemberAndRebalance`):
    /// the old id is fenced and the member keeps its place and assignment.
    private mutating func replaceStaticMember(_ request: JoinGroupInput, oldMemberID: String, _ now: GroupTime,
                                              into actions: inout [GroupAction]) {
        guard var member = members.removeValue(forKey: oldMemberID) else { return }
        let previousLeader = leaderID
        if let waiter = member.joinWaiter { actions.append(.completeJoin(waiter, .error(.fencedInstanceID, memberID: oldMemberID))) }
        if let waiter = member.syncWaiter { actions.append(.completeSync(waiter, .error(.fencedInstanceID))) }
        let newID = request.newMemberID
        member.memberID = newID
        member.joinWaiter = nil
        member.syncWaiter = nil
        members[newID] = member
        memberOrder = memberOrder.map { $0 == oldMemberID ? newID : $0 }
        staticMembers[request.groupInstanceID!] = newID
        if pendingSync.remove(oldMemberID) != nil { pendingSync.insert(newID) }
        if leaderID == oldMemberID { leaderID = newID }
        refreshSession(newID, now)
        updateMember(JoinGroupInput(memberID: newID, groupInstanceID: request.groupInstanceID, clientID: request.clientID,
                                    clientHost: request.clientHost, sessionTimeoutMs: request.sessionTimeoutMs,
                                    rebalanceTimeoutMs: request.rebalanceTimeoutMs, protocolType: request.protocolType,
                                    protocols: request.protocols, requireKnownMemberID: false, newMemberID: newID,
                                    waiter: request.waiter), now, into: &actions)
        switch state {
        case .stable:
            if selectProtocol() == protocolName {
                // No rebalance. The old leader id is returned so that a rejoining leader does not
                // compute an assignment a Stable group would never distribute.
                members[newID]?.joinWaiter = nil
                actions.append(.storeGroup)
                actions.append(.completeJoin(request.waiter, currentJoinResult(for: newID, members: [],
                                                                                leaderID: previousLeader)))
            } else {
                members[newID]?.protocols = request.protocols
                prepareRebalance(now, into: &actions)
            }
        case .completingRebalance:
            // The leader may already be computing an assignment for the old member id.
            prepareRebalance(now, into: &actions)
        case .preparingRebalance:
            maybeCompleteJoin(now, into: &actions)
        case .empty, .dead:
            break  // a group with a static member is never Empty or Dead
        }
    }
}

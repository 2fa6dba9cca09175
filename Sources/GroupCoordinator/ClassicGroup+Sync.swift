import KafkaProtocol
import NIOCore

/// A SyncGroup as the group sees it.
public struct SyncGroupInput: Sendable {
    public var memberID: String
    public var groupInstanceID: String?
    public var generationID: Int32
    /// v5+: checked against the group's when present.
    public var protocolType: String?
    public var protocolName: String?
    /// The leader's assignment per member id; empty for followers.
    public var assignments: [String: ByteBuffer]
    public var waiter: GroupWaiter

    public init(memberID: String, groupInstanceID: String?, generationID: Int32, protocolType: String?,
                protocolName: String?, assignments: [String: ByteBuffer], waiter: GroupWaiter) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.generationID = generationID
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
        self.waiter = waiter
    }
}

extension ClassicGroup {
    /// Handles SyncGroup (Kafka's `classicGroupSync`). In CompletingRebalance followers are held
    /// until the leader's assignments arrive; the leader's request stores the group and answers
    /// everyone (a member the leader left out gets empty bytes). In Stable the current assignment is
    /// returned at once.
    public mutating func sync(_ request: SyncGroupInput, now: GroupTime) -> [GroupAction] {
        func fail(_ code: ErrorCode) -> [GroupAction] { [.completeSync(request.waiter, .error(code))] }
        if state == .dead { return fail(.coordinatorNotAvailable) }
        if isStaticMemberFenced(instanceID: request.groupInstanceID, memberID: request.memberID) { return fail(.fencedInstanceID) }
        guard has(request.memberID) else { return fail(.unknownMemberID) }
        guard request.generationID == generationID else { return fail(.illegalGeneration) }
        if let type = request.protocolType, type != protocolType { return fail(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != protocolName { return fail(.inconsistentGroupProtocol) }
        switch state {
        case .empty, .dead:
            return fail(.unknownMemberID)
        case .preparingRebalance:
            return fail(.rebalanceInProgress)
        case .stable:
            refreshSession(request.memberID, now)
            return [.completeSync(request.waiter, syncResult(assignment: members[request.memberID]?.assignment ?? ByteBuffer()))]
        case .completingRebalance:
            var actions: [GroupAction] = []
            if let old = members[request.memberID]?.syncWaiter { actions.append(.completeSync(old, .error(.rebalanceInProgress))) }
            members[request.memberID]?.syncWaiter = request.waiter
            pendingSync.remove(request.memberID)
            refreshSession(request.memberID, now)
            guard request.memberID == leaderID else { return actions }
            for id in memberOrder { members[id]?.assignment = request.assignments[id] ?? ByteBuffer() }
            transition(to: .stable, now)
            pendingSync = []
            syncDeadlineMs = nil
            actions.append(.storeGroup)
            for id in memberOrder {
                guard let member = members[id], let waiter = member.syncWaiter else { continue }
                members[id]?.syncWaiter = nil
                refreshSession(id, now)
                actions.append(.completeSync(waiter, syncResult(assignment: member.assignment)))
            }
            return actions
        }
    }

    private func syncResult(assignment: ByteBuffer) -> SyncGroupResult {
        SyncGroupResult(errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: assignment)
    }

    /// Handles Heartbeat (Kafka's `classicGroupHeartbeat`): NONE in Stable and CompletingRebalance,
    /// REBALANCE_IN_PROGRESS in PreparingRebalance (the member must rejoin); both keep the session.
    public mutating func heartbeat(memberID: String, groupInstanceID: String?, generationID: Int32, now: GroupTime) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if isStaticMemberFenced(instanceID: groupInstanceID, memberID: memberID) { return .fencedInstanceID }
        guard has(memberID) else { return .unknownMemberID }
        guard generationID == self.generationID else { return .illegalGeneration }
        switch state {
        case .empty, .dead:
            return .unknownMemberID
        case .completingRebalance, .stable:
            refreshSession(memberID, now)
            return .none
        case .preparingRebalance:
            refreshSession(memberID, now)
            return .rebalanceInProgress
        }
    }

    /// One member leaving, as named in LeaveGroup (v3+ may name a static member by instance id
    /// alone).
    public struct LeavingMember: Sendable, Equatable {
        public var memberID: String
        public var groupInstanceID: String?
        public init(memberID: String, groupInstanceID: String?) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
        }
    }

    /// Handles LeaveGroup (Kafka's `classicGroupLeave`): each member is removed (pending members
    /// too) and the group rebalances. Returns one error per member, in request order, and the actions.
    public mutating func leave(_ leaving: [LeavingMember], now: GroupTime) -> (errors: [ErrorCode], actions: [GroupAction]) {
        var actions: [GroupAction] = []
        var errors: [ErrorCode] = []
        for member in leaving {
            if state == .dead {
                errors.append(.coordinatorNotAvailable)
                continue
            }
            var memberID = member.memberID
            if memberID.isEmpty, let instance = member.groupInstanceID, let current = staticMembers[instance] {
                memberID = current
            }
            if pendingMembers.removeValue(forKey: memberID) != nil {
                errors.append(.none)
                maybeCompleteJoin(now, into: &actions)
            } else if isStaticMemberFenced(instanceID: member.groupInstanceID, memberID: memberID) {
                errors.append(.fencedInstanceID)
            } else if !has(memberID) {
                errors.append(.unknownMemberID)
            } else {
                removeMemberAndUpdateGroup(memberID, now, into: &actions)
                errors.append(.none)
            }
        }
        return (errors, actions)
    }
}

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
    /// until the leader's assignments arrive; the leader's request asks for the group to be stored
    /// (``GroupAction/storeAssignment(generationID:)``), and only when that succeeds does the group
    /// become Stable and everyone get their bytes (a member the leader left out gets empty bytes).
    /// In Stable the current assignment is returned at once.
    public mutating func sync(_ request: SyncGroupInput, now: GroupTime) -> [GroupAction] {
        func fail(_ code: ErrorCode) -> [GroupAction] { [.completeSync(request.waiter, .error(code))] }
        if state == .dead { return fail(.coordinatorNotAvailable) }
        if let error = validateMember(request.memberID, instanceID: request.groupInstanceID) { return fail(error) }
        guard request.generationID == generationID else { return fail(.illegalGeneration) }
        if let type = request.protocolType, type != protocolType { return fail(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != protocolName { return fail(.inconsistentGroupProtocol) }
        switch state {
        case .empty, .dead:
            return fail(.unknownMemberID)
        case .preparingRebalance:
            return fail(.rebalanceInProgress)
        case .stable:
            markSynced(request.memberID)
            refreshSession(request.memberID, now)
            return [.completeSync(request.waiter, syncResult(assignment: members[request.memberID]?.assignment ?? ByteBuffer()))]
        case .completingRebalance:
            var actions: [GroupAction] = []
            if let old = members[request.memberID]?.syncWaiter { actions.append(.completeSync(old, .error(.rebalanceInProgress))) }
            members[request.memberID]?.syncWaiter = request.waiter
            markSynced(request.memberID)
            refreshSession(request.memberID, now)
            guard request.memberID == leaderID, pendingAssignments == nil else { return actions }
            pendingAssignments = request.assignments
            actions.append(.storeAssignment(generationID: generationID))
            return actions
        }
    }

    /// Finishes the leader's SyncGroup once the group was stored (`error` nil) or could not be
    /// (Kafka's `setAndPropagateAssignment`, or `resetAndPropagateAssignmentError` followed by
    /// `maybePrepareRebalance`). Nothing happens if the group moved on meanwhile.
    public mutating func completeAssignment(generationID: Int32, error: ErrorCode?, now: GroupTime) -> [GroupAction] {
        guard state == .completingRebalance, generationID == self.generationID, let assignments = pendingAssignments else { return [] }
        pendingAssignments = nil
        var actions: [GroupAction] = []
        if error == nil {
            for id in memberOrder { members[id]?.assignment = assignments[id] ?? ByteBuffer() }
            transition(to: .stable, now)
        }
        for id in memberOrder {
            guard let member = members[id], let waiter = member.syncWaiter else { continue }
            members[id]?.syncWaiter = nil
            refreshSession(id, now)
            actions.append(.completeSync(waiter, error.map { .error($0) } ?? syncResult(assignment: member.assignment)))
        }
        if error != nil { prepareRebalance(now, into: &actions) }
        return actions
    }

    private mutating func markSynced(_ memberID: String) {
        pendingSync.remove(memberID)
        if pendingSync.isEmpty { syncDeadlineMs = nil }
    }

    private func syncResult(assignment: ByteBuffer) -> SyncGroupResult {
        SyncGroupResult(errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: assignment)
    }

    /// Handles Heartbeat (Kafka's `classicGroupHeartbeat`): NONE in Stable and CompletingRebalance,
    /// REBALANCE_IN_PROGRESS in PreparingRebalance (the member must rejoin); both keep the session.
    public mutating func heartbeat(memberID: String, groupInstanceID: String?, generationID: Int32, now: GroupTime) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if let error = validateMember(memberID, instanceID: groupInstanceID) { return error }
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

    /// Handles LeaveGroup (Kafka's `classicGroupLeave`): a member named by instance id alone is
    /// looked up (KIP-345 administrative removal), a pending member is forgotten, a current member is
    /// removed and the group rebalances. Returns one error per member, in request order.
    public mutating func leave(_ leaving: [LeavingMember], now: GroupTime) -> (errors: [ErrorCode], actions: [GroupAction]) {
        var actions: [GroupAction] = []
        var errors: [ErrorCode] = []
        for member in leaving {
            if state == .dead {
                errors.append(.coordinatorNotAvailable)
            } else if member.memberID.isEmpty {
                if let instance = member.groupInstanceID, let current = staticMembers[instance] {
                    removeMemberAndUpdateGroup(current, now, into: &actions)
                    errors.append(.none)
                } else {
                    errors.append(.unknownMemberID)
                }
            } else if pendingMembers.removeValue(forKey: member.memberID) != nil {
                maybeCompleteJoin(now, into: &actions)
                errors.append(.none)
            } else if let error = validateMember(member.memberID, instanceID: member.groupInstanceID) {
                errors.append(error)
            } else {
                removeMemberAndUpdateGroup(member.memberID, now, into: &actions)
                errors.append(.none)
            }
        }
        return (errors, actions)
    }
}

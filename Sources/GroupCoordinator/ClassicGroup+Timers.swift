import KafkaProtocol
import NIOCore

extension ClassicGroup {
    /// Runs every deadline that has passed at `now`: pending members expire, the join phase ends
    /// (extending the initial delay while members keep arriving), members that never sent SyncGroup
    /// are dropped, and members whose session lapsed are removed. A member whose JoinGroup or
    /// SyncGroup is held is not timed out by its session: the rebalance deadlines cover it.
    public mutating func tick(now: GroupTime) -> [GroupAction] {
        var actions: [GroupAction] = []
        for (id, deadline) in pendingMembers where deadline <= now.monotonicMs {
            pendingMembers[id] = nil
            maybeCompleteJoin(now, into: &actions)
        }
        if state == .preparingRebalance, let deadline = joinDeadlineMs, deadline <= now.monotonicMs {
            if var delay = initialDelay, delay.newMemberAdded, delay.remainingMs > 0 {
                let next = min(limits.initialRebalanceDelayMs, delay.remainingMs)
                delay.remainingMs = max(delay.remainingMs - next, 0)
                delay.newMemberAdded = false
                initialDelay = delay
                joinDeadlineMs = now.monotonicMs + next
            } else {
                initialDelay = nil
                completeJoin(now, into: &actions)
            }
        }
        if state == .completingRebalance || state == .stable, let deadline = syncDeadlineMs, deadline <= now.monotonicMs {
            // Kafka's `onExpirePendingSync`: members that never sent SyncGroup are removed.
            syncDeadlineMs = nil
            let missing = memberOrder.filter { pendingSync.contains($0) }
            if !missing.isEmpty {
                for id in missing { remove(id, into: &actions) }
                prepareRebalance(now, into: &actions)
            }
        }
        for id in memberOrder {
            guard let member = members[id], isExpired(member, now) else { continue }
            removeMemberAndUpdateGroup(id, now, into: &actions)
        }
        return actions
    }

    /// Kafka's `hasSatisfiedHeartbeat` negated: a member waiting in JoinGroup lives unless it is
    /// new and has waited `newMemberJoinTimeoutMs`; a member waiting in SyncGroup lives; any other
    /// member expires when its session deadline passes.
    private func isExpired(_ member: GroupMember, _ now: GroupTime) -> Bool {
        if member.isAwaitingJoin { return member.isNew && member.newMemberDeadlineMs <= now.monotonicMs }
        if member.isAwaitingSync { return false }
        return member.sessionDeadlineMs <= now.monotonicMs
    }

    /// The earliest deadline the group is waiting for (monotonic ms), nil when none.
    public var nextDeadlineMs: Int64? {
        var deadlines = Array(pendingMembers.values)
        if state == .preparingRebalance, let d = joinDeadlineMs { deadlines.append(d) }
        if state == .completingRebalance || state == .stable, let d = syncDeadlineMs { deadlines.append(d) }
        for m in members.values {
            if m.isAwaitingJoin {
                if m.isNew { deadlines.append(m.newMemberDeadlineMs) }
            } else if !m.isAwaitingSync {
                deadlines.append(m.sessionDeadlineMs)
            }
        }
        return deadlines.min()
    }

    /// Checks an OffsetCommit against the group (Kafka's `validateOffsetCommit` for classic
    /// groups); a valid commit from a member also counts as a heartbeat.
    ///
    /// Generation -1 with no member id is a "simple" commit from a client that assigns partitions
    /// itself: accepted only while the group is Empty. Members commit with their generation; a
    /// commit in CompletingRebalance gets REBALANCE_IN_PROGRESS; PreparingRebalance still accepts
    /// it, so a member can commit before it rejoins.
    public mutating func validateCommit(memberID: String, groupInstanceID: String?, generationID: Int32, now: GroupTime) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if generationID >= 0 || !memberID.isEmpty || groupInstanceID != nil {
            if let error = validateMember(memberID, instanceID: groupInstanceID) { return error }
            guard generationID == self.generationID else { return .illegalGeneration }
        } else if state != .empty {
            // Only members may commit for a group with members.
            return .unknownMemberID
        } else {
            return .none
        }
        switch state {
        case .stable, .preparingRebalance:
            refreshSession(memberID, now)
            return .none
        case .completingRebalance:
            return .rebalanceInProgress
        case .empty, .dead:
            return .unknownMemberID
        }
    }

    /// Marks the group Dead (deleted, or expired with no offsets left); every later request gets
    /// COORDINATOR_NOT_AVAILABLE.
    public mutating func markDead(now: GroupTime) {
        transition(to: .dead, now)
    }
}

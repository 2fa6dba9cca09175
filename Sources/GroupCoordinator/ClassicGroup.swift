import KafkaProtocol
import NIOCore

/// The classic consumer group protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) for one group,
/// as a pure state machine: requests and clock ticks go in, ``GroupAction``s come out, and the
/// caller does the I/O (delivering held responses, persisting the group).
///
/// The rules follow Kafka's classic group coordinator (`GroupCoordinator.scala` up to 3.x,
/// `ClassicGroup.java` and `GroupMetadataManager.java` since): see the methods for each request.
/// Held requests are identified by a ``GroupWaiter`` token. Times are monotonic milliseconds
/// (``GroupTime``); the group never reads a clock.
public struct ClassicGroup: Sendable {
    public let groupID: String
    public internal(set) var state: GroupState = .empty
    /// Incremented each time a rebalance completes (also when it leaves the group Empty).
    public internal(set) var generationID: Int32 = 0
    /// The protocol type of the members (`consumer`, `connect`); nil while the group never had one.
    public internal(set) var protocolType: String?
    /// The protocol chosen for the current generation.
    public internal(set) var protocolName: String?
    public internal(set) var leaderID: String?
    /// Members by member id.
    public internal(set) var members: [String: GroupMember] = [:]
    /// Member ids in the order they joined: the leader is chosen from the front.
    var memberOrder: [String] = []
    /// Member ids handed out by MEMBER_ID_REQUIRED that have not joined yet, with their expiry.
    public internal(set) var pendingMembers: [String: Int64] = [:]
    /// Static members: group instance id → current member id (KIP-345).
    public internal(set) var staticMembers: [String: String] = [:]
    /// Wall-clock time of the last state change (Kafka's `currentStateTimestamp`): offsets of an
    /// Empty group expire `offsets.retention.minutes` after it.
    public internal(set) var stateChangedWallMs: Int64

    let limits: GroupLimits
    /// When a rebalance in PreparingRebalance completes even if members are missing.
    var joinDeadlineMs: Int64?
    /// Initial-delay bookkeeping while the rebalance of an Empty group waits for more members.
    var initialDelay: InitialDelay?
    /// Members of the current generation that have not sent SyncGroup yet, and when they are
    /// dropped (in CompletingRebalance or Stable: the leader may sync before its followers).
    var pendingSync: Set<String> = []
    var syncDeadlineMs: Int64?
    /// The leader's assignments while they are being stored; applied when the store succeeds.
    var pendingAssignments: [String: ByteBuffer]?

    struct InitialDelay: Sendable {
        /// Rebalance time left to extend the delay by (ms).
        var remainingMs: Int64
        var newMemberAdded = false
    }

    public init(groupID: String, limits: GroupLimits, now: GroupTime) {
        self.groupID = groupID
        self.limits = limits
        self.stateChangedWallMs = now.wallMs
    }

    /// Whether `memberID` is a current member.
    public func has(_ memberID: String) -> Bool { members[memberID] != nil }

    /// The members in join order.
    public var orderedMembers: [GroupMember] { memberOrder.compactMap { members[$0] } }

    /// The topics the members subscribed to, read from their ConsumerProtocolSubscription for the
    /// chosen protocol (only for protocol type "consumer").
    public var subscribedTopics: Set<String>? {
        guard protocolType == "consumer" else { return nil }
        var topics = Set<String>()
        for member in members.values {
            guard let subscription = ConsumerProtocolSubscription(member.metadata(for: protocolName)) else { return nil }
            topics.formUnion(subscription.topics)
        }
        return topics
    }

    // MARK: - Transitions shared by the requests

    mutating func transition(to newState: GroupState, _ now: GroupTime) {
        state = newState
        stateChangedWallMs = now.wallMs
    }

    /// Kafka's `supportsProtocols`: an Empty group takes any non-empty protocol list; otherwise the
    /// protocol type must match and one of the protocols must be supported by every member.
    func supportsProtocols(type: String, _ protocols: [GroupProtocol]) -> Bool {
        if state == .empty { return !type.isEmpty && !protocols.isEmpty }
        guard protocolType == type else { return false }
        return protocols.contains { p in members.values.allSatisfy { m in m.protocols.contains { $0.name == p.name } } }
    }

    /// The protocol every member supports that gets the most first-choice votes; ties go to the
    /// earlier-joined members' preference (Kafka's `selectProtocol`).
    func selectProtocol() -> String? {
        let ordered = orderedMembers
        guard let first = ordered.first else { return nil }
        let candidates = first.protocols.map(\.name).filter { name in
            ordered.allSatisfy { m in m.protocols.contains { $0.name == name } }
        }
        guard !candidates.isEmpty else { return nil }
        var votes: [String: Int] = [:]
        for m in ordered {
            if let vote = m.protocols.first(where: { candidates.contains($0.name) })?.name { votes[vote, default: 0] += 1 }
        }
        var best: String?
        var bestVotes = -1
        for name in candidates where votes[name, default: 0] > bestVotes {
            best = name
            bestVotes = votes[name, default: 0]
        }
        return best
    }

    /// The longest rebalance timeout of the members (the time a rebalance waits for stragglers).
    var rebalanceTimeoutMs: Int64 {
        Int64(members.values.map(\.rebalanceTimeoutMs).max() ?? 0)
    }

    /// Checks that a request comes from the current member (Kafka's `validateCurrentMember`): with
    /// an instance id, the instance must be known (else UNKNOWN_MEMBER_ID) and map to this member id
    /// (else FENCED_INSTANCE_ID, KIP-345); without one, the member id must be a member.
    /// - Returns: nil when valid.
    func validateMember(_ memberID: String, instanceID: String?) -> ErrorCode? {
        if let instanceID {
            guard let current = staticMembers[instanceID] else { return .unknownMemberID }
            return current == memberID ? nil : .fencedInstanceID
        }
        return has(memberID) ? nil : .unknownMemberID
    }

    mutating func add(_ member: GroupMember) {
        if members.isEmpty { protocolType = member.protocolType }
        members[member.memberID] = member
        memberOrder.append(member.memberID)
        if let instance = member.groupInstanceID { staticMembers[instance] = member.memberID }
        if leaderID == nil { leaderID = member.memberID }
    }

    /// Removes a member; its held requests are answered with UNKNOWN_MEMBER_ID.
    mutating func remove(_ memberID: String, into actions: inout [GroupAction]) {
        guard let member = members.removeValue(forKey: memberID) else { return }
        memberOrder.removeAll { $0 == memberID }
        pendingSync.remove(memberID)
        if let instance = member.groupInstanceID, staticMembers[instance] == memberID { staticMembers[instance] = nil }
        if let waiter = member.joinWaiter { actions.append(.completeJoin(waiter, .error(.unknownMemberID, memberID: ""))) }
        if let waiter = member.syncWaiter { actions.append(.completeSync(waiter, .error(.unknownMemberID))) }
        if leaderID == memberID { leaderID = memberOrder.first }
    }

    /// Removes a member and moves the group on: a Stable or CompletingRebalance group rebalances,
    /// a PreparingRebalance group may now have everyone it waits for (Kafka's
    /// `removeMemberAndUpdateGroup`).
    mutating func removeMemberAndUpdateGroup(_ memberID: String, _ now: GroupTime, into actions: inout [GroupAction]) {
        remove(memberID, into: &actions)
        switch state {
        case .stable, .completingRebalance: prepareRebalance(now, into: &actions)
        case .preparingRebalance: maybeCompleteJoin(now, into: &actions)
        case .empty, .dead: break
        }
    }

    /// Enters PreparingRebalance (Kafka's `prepareRebalance`). Held SyncGroups of a
    /// CompletingRebalance group are answered REBALANCE_IN_PROGRESS so their members rejoin. An
    /// Empty group waits `group.initial.rebalance.delay.ms` first; any other completes at once when
    /// every member is already waiting.
    mutating func prepareRebalance(_ now: GroupTime, into actions: inout [GroupAction]) {
        if state == .completingRebalance {
            pendingAssignments = nil
            for id in memberOrder {
                members[id]?.assignment = ByteBuffer()
                if let waiter = members[id]?.syncWaiter {
                    members[id]?.syncWaiter = nil
                    refreshSession(id, now)
                    actions.append(.completeSync(waiter, .error(.rebalanceInProgress)))
                }
            }
        }
        pendingSync = []
        syncDeadlineMs = nil
        if state == .empty {
            let delay = limits.initialRebalanceDelayMs
            initialDelay = InitialDelay(remainingMs: max(rebalanceTimeoutMs - delay, 0))
            joinDeadlineMs = now.monotonicMs + delay
        } else {
            initialDelay = nil
            joinDeadlineMs = now.monotonicMs + rebalanceTimeoutMs
        }
        transition(to: .preparingRebalance, now)
        // Kafka adds the delayed join with tryCompleteElseWatch: if every remaining member is
        // already waiting (or none is left), the rebalance completes at once.
        maybeCompleteJoin(now, into: &actions)
    }

    /// Rebalances unless one is already under way (Kafka's `maybePrepareRebalance`).
    mutating func maybePrepareRebalance(_ now: GroupTime, into actions: inout [GroupAction]) {
        if state == .stable || state == .completingRebalance || state == .empty {
            prepareRebalance(now, into: &actions)
        }
    }

    /// Every member has rejoined and no MEMBER_ID_REQUIRED member is outstanding.
    var hasAllMembersJoined: Bool {
        pendingMembers.isEmpty && members.values.allSatisfy(\.isAwaitingJoin)
    }

    /// Completes the join phase as soon as everyone is in, except during the initial delay, which
    /// always runs to its end (Kafka's `InitialDelayedJoin.tryComplete` is false).
    mutating func maybeCompleteJoin(_ now: GroupTime, into actions: inout [GroupAction]) {
        guard state == .preparingRebalance, initialDelay == nil, hasAllMembersJoined else { return }
        completeJoin(now, into: &actions)
    }

    /// Ends the join phase (Kafka's `onCompleteJoin`): dynamic members that did not rejoin are
    /// removed, the generation advances, and every waiting member gets its JoinGroup response (the
    /// leader with the member list).
    mutating func completeJoin(_ now: GroupTime, into actions: inout [GroupAction]) {
        for id in memberOrder where members[id]?.isAwaitingJoin == false && members[id]?.groupInstanceID == nil {
            remove(id, into: &actions)
        }
        initialDelay = nil
        if !members.isEmpty, !members.values.contains(where: \.isAwaitingJoin) {
            // Only static members that have not rejoined are left: wait another rebalance timeout
            // for them (or for their sessions to expire) rather than start a generation nobody
            // hears about (Kafka's `maybeElectNewJoinedLeader`).
            joinDeadlineMs = now.monotonicMs + rebalanceTimeoutMs
            return
        }
        joinDeadlineMs = nil
        generationID &+= 1
        guard !members.isEmpty else {
            protocolName = nil
            leaderID = nil
            transition(to: .empty, now)
            actions.append(.storeGroup)
            return
        }
        protocolName = selectProtocol()
        if let leader = leaderID, members[leader]?.isAwaitingJoin != true,
           let waiting = memberOrder.first(where: { members[$0]?.isAwaitingJoin == true }) {
            leaderID = waiting
        }
        transition(to: .completingRebalance, now)
        pendingSync = Set(members.keys)
        syncDeadlineMs = now.monotonicMs + rebalanceTimeoutMs
        let everyone = orderedMembers.map {
            JoinGroupResult.Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata(for: protocolName))
        }
        for id in memberOrder {
            guard var member = members[id], let waiter = member.joinWaiter else { continue }
            member.joinWaiter = nil
            member.isNew = false
            member.sessionDeadlineMs = now.monotonicMs + Int64(member.sessionTimeoutMs)
            members[id] = member
            actions.append(.completeJoin(waiter, currentJoinResult(for: id, members: id == leaderID ? everyone : [])))
        }
    }

    /// The JoinGroup answer describing the current generation.
    func currentJoinResult(for memberID: String, members list: [JoinGroupResult.Member], leaderID leader: String? = nil) -> JoinGroupResult {
        JoinGroupResult(errorCode: .none, generationID: generationID, protocolType: protocolType, protocolName: protocolName,
                        leaderID: leader ?? leaderID ?? "", memberID: memberID, members: list)
    }

    /// The member list the leader receives for the current generation.
    var leaderMemberList: [JoinGroupResult.Member] {
        orderedMembers.map {
            JoinGroupResult.Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata(for: protocolName))
        }
    }

    /// Moves a member's session deadline forward (any valid heartbeat, join or sync).
    mutating func refreshSession(_ memberID: String, _ now: GroupTime) {
        guard let timeout = members[memberID]?.sessionTimeoutMs else { return }
        members[memberID]?.sessionDeadlineMs = now.monotonicMs + Int64(timeout)
    }
}

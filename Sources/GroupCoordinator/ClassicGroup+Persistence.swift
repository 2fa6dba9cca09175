import NIOCore

extension ClassicGroup {
    /// The group as it is persisted in `__consumer_offsets` (members carry only the metadata of the
    /// chosen protocol, as in Kafka).
    public var metadataValue: GroupMetadataValue { metadataValue(assignments: nil) }

    /// The group as persisted, with `assignments` (member id → bytes) in place of the current ones.
    func metadataValue(assignments: [String: ByteBuffer]?) -> GroupMetadataValue {
        GroupMetadataValue(
            protocolType: protocolType ?? "", generationID: generationID, protocolName: protocolName, leaderID: leaderID,
            currentStateTimestampMs: stateChangedWallMs,
            members: orderedMembers.map { m in
                GroupMetadataValue.Member(memberID: m.memberID, groupInstanceID: m.groupInstanceID, clientID: m.clientID,
                                          clientHost: m.clientHost, rebalanceTimeoutMs: m.rebalanceTimeoutMs,
                                          sessionTimeoutMs: m.sessionTimeoutMs, subscription: m.metadata(for: protocolName),
                                          assignment: assignments.map { $0[m.memberID] ?? ByteBuffer() } ?? m.assignment)
            })
    }

    /// Rebuilds a group read back at start-up. A group with members comes back Stable with every
    /// member's session starting now: members that are still running keep heartbeating (or, if
    /// static, rejoin without a rebalance); the others expire after their session timeout.
    public init(groupID: String, restoring value: GroupMetadataValue, limits: GroupLimits, now: GroupTime) {
        self.init(groupID: groupID, limits: limits, now: now)
        generationID = value.generationID
        protocolType = value.protocolType.isEmpty ? nil : value.protocolType
        protocolName = value.protocolName
        stateChangedWallMs = value.currentStateTimestampMs >= 0 ? value.currentStateTimestampMs : now.wallMs
        for stored in value.members {
            var member = GroupMember(memberID: stored.memberID, groupInstanceID: stored.groupInstanceID, clientID: stored.clientID,
                                     clientHost: stored.clientHost, rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
                                     sessionTimeoutMs: stored.sessionTimeoutMs, protocolType: value.protocolType,
                                     protocols: [GroupProtocol(name: value.protocolName ?? "", metadata: stored.subscription)])
            member.assignment = stored.assignment
            member.sessionDeadlineMs = now.monotonicMs + Int64(stored.sessionTimeoutMs)
            add(member)
        }
        leaderID = value.leaderID.flatMap { members[$0] != nil ? $0 : nil } ?? memberOrder.first
        state = members.isEmpty ? .empty : .stable
    }
}

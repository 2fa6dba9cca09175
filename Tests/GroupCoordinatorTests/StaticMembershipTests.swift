import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// Static membership (KIP-345), against GroupCoordinator.scala (3.6.0) doStaticNewMemberJoinGroup /
// updateStaticMemberAndRebalance / validateCurrentMember / onCompleteJoin and the same rules in
// GroupMetadataManager.java (classicGroupJoinNewStaticMember, completeClassicGroupJoin).

@Suite("Classic group: static membership")
struct StaticMembershipTests {
    @Test("a static member rejoining a Stable group gets a new id, same generation, no rebalance")
    func staticRejoinWithoutRebalance() throws {
        var h = Harness.stable()
        h.now = 7000
        let w = h.join("", newID: "S2", instance: "inst-s")
        let r = try #require(h.joinResult(w), "answered at once")
        #expect(r.errorCode == .none)
        #expect(r.memberID == "S2")
        #expect(r.generationID == 1)
        #expect(r.leaderID == "A")
        #expect(r.members.isEmpty)
        #expect(r.protocolName == "range")
        #expect(h.state == .stable)
        #expect(h.group.staticMembers == ["inst-s": "S2"])
        #expect(!h.group.has("S") && h.group.has("S2"))
        // storeGroup persists the new member id before the response.
        let store = try #require(h.lastActions.firstIndex(of: .storeGroup))
        let answer = try #require(h.lastActions.firstIndex { if case .completeJoin(w, _) = $0 { return true } else { return false } })
        #expect(store < answer)
        // The old member id is fenced; the new one syncs and gets the old assignment back.
        #expect(h.heartbeat("S", instance: "inst-s") == .fencedInstanceID)
        #expect(h.heartbeat("S") == .unknownMemberID)
        let oldSync = h.sync("S", instance: "inst-s")
        #expect(h.syncResult(oldSync)?.errorCode == .fencedInstanceID)
        let sync = h.sync("S2", instance: "inst-s", generation: 1)
        #expect(h.syncResult(sync)?.errorCode == ErrorCode.none)
        #expect(h.syncResult(sync)?.assignment == buf("s-bytes"))
        #expect(h.heartbeat("S2", instance: "inst-s") == .none)
        #expect(h.heartbeat("A") == .none)
    }

    @Test("a rejoining static leader is told the old leader id, so it does not compute an assignment")
    func staticLeaderRejoin() throws {
        var h = Harness()
        h.join(newID: "L", instance: "inst-l")
        h.join(newID: "B")
        h.tickUntil(.completingRebalance)
        h.sync("L", instance: "inst-l", assignments: ["L": buf("l"), "B": buf("b")])
        #expect(h.state == .stable && h.group.leaderID == "L")
        let w = h.join("", newID: "L2", instance: "inst-l")
        let r = try #require(h.joinResult(w))
        #expect(r.memberID == "L2")
        #expect(r.leaderID == "L", "currentLeader before the replacement (JoinGroup < v9)")
        #expect(r.members.isEmpty)
        #expect(h.group.leaderID == "L2", "the group's leader follows the instance")
        #expect(h.state == .stable)
    }

    @Test("a JoinGroup with a stale member id for a known instance is FENCED_INSTANCE_ID")
    func staleStaticJoinIsFenced() {
        var h = Harness.stable()
        h.join("", newID: "S2", instance: "inst-s")
        let stale = h.join("S", instance: "inst-s")
        #expect(h.joinResult(stale)?.errorCode == .fencedInstanceID)
        #expect(h.state == .stable)
        #expect(h.leave("S", instance: "inst-s") == .fencedInstanceID)
        #expect(h.group.has("S2"))
    }

    @Test("a static rejoin that changes the selected protocol rebalances")
    func staticRejoinChangingProtocolRebalances() throws {
        var h = Harness()
        let both = [proto("range"), proto("roundrobin")]
        h.join(newID: "S", instance: "inst-s", protocols: both)
        h.join(newID: "A", protocols: both)
        h.join(newID: "B", protocols: [proto("roundrobin"), proto("range")])
        h.tickUntil(.completingRebalance)
        #expect(h.group.protocolName == "range")  // votes: range 2, roundrobin 1
        h.sync("S", instance: "inst-s", assignments: [:])
        #expect(h.state == .stable)
        let w = h.join("", newID: "S2", instance: "inst-s", protocols: [proto("roundrobin"), proto("range")])
        #expect(h.joinResult(w) == nil, "held: the group rebalances")
        #expect(h.state == .preparingRebalance)
        #expect(h.group.staticMembers == ["inst-s": "S2"])
        let a = h.join("A", protocols: both)
        h.join("B", protocols: [proto("roundrobin"), proto("range")])
        #expect(h.state == .completingRebalance)
        #expect(h.group.protocolName == "roundrobin")  // votes now: roundrobin 2, range 1
        #expect(h.joinResult(w)?.generationID == 2)
        #expect(h.joinResult(w)?.memberID == "S2")
        #expect(h.joinResult(a)?.protocolName == "roundrobin")
    }

    @Test("static members that did not rejoin are kept when the join phase completes")
    func staticMembersSurviveRebalanceTimeout() {
        var h = Harness.stable()
        let start = h.now
        h.join(newID: "N")
        h.join("A")
        for t in stride(from: start + 5000, to: start + Int64(Harness.rebalance), by: 5000) {
            h.tick(at: t)
            #expect(h.heartbeat("B") == .rebalanceInProgress)
            #expect(h.heartbeat("S", instance: "inst-s") == .rebalanceInProgress)
        }
        h.tick(at: start + Int64(Harness.rebalance))
        #expect(h.state == .completingRebalance)
        #expect(h.group.members.keys.sorted() == ["A", "N", "S"], "dynamic B dropped, static S kept")
        #expect(h.group.staticMembers == ["inst-s": "S"])
        #expect(h.group.generationID == 2)
    }

    // Kafka: onCompleteJoin / completeClassicGroupJoin call maybeElectNewJoinedLeader; when no
    // member rejoined (only static members left, none of them rejoined) the completion is
    // postponed by another rebalance timeout — "could not complete rebalance because no members
    // rejoined" — and the generation does not move.
    @Test("when no member rejoined, the join phase is postponed rather than completed")
    func noMemberRejoinedPostponesCompletion() {
        var h = Harness()
        h.join(newID: "S1", instance: "i1")
        h.join(newID: "S2", instance: "i2")
        h.tickUntil(.completingRebalance)
        h.sync("S1", instance: "i1", assignments: ["S1": buf("1"), "S2": buf("2")])
        h.sync("S2", instance: "i2")
        let start = h.now
        #expect(h.leave("", instance: "i1") == .none)
        #expect(h.state == .preparingRebalance)
        var heartbeats: Set<ErrorCode> = []
        for t in stride(from: start + 3000, through: start + Int64(Harness.rebalance) + 3000, by: 3000) {
            h.tick(at: t)
            heartbeats.insert(h.heartbeat("S2", instance: "i2", generation: 1))
        }
        #expect(heartbeats == [.rebalanceInProgress])
        #expect(h.state == .preparingRebalance)
        #expect(h.group.generationID == 1)
    }

    @Test("restoring from the persisted value gives a Stable group where a static rejoin does not rebalance")
    func restoreThenStaticRejoin() throws {
        let original = Harness.stable()
        let value = original.group.metadataValue
        // Round trip through the __consumer_offsets encoding too.
        let (key, encoded) = OffsetsTopicRecord.groupMetadata(group: "g", value: value).encode()
        let decoded = try OffsetsTopicRecord.decode(key: key, value: encoded)
        #expect(decoded == .groupMetadata(group: "g", value: value))

        var h = Harness()
        h.now = 50_000
        h.group = ClassicGroup(groupID: "g", restoring: value, limits: .test(), now: h.time)
        #expect(h.state == .stable)
        #expect(h.group.generationID == 1)
        #expect(h.group.protocolType == "consumer" && h.group.protocolName == "range")
        #expect(h.group.leaderID == "A")
        #expect(h.group.orderedMembers.map(\.memberID) == ["A", "B", "S"])
        #expect(h.group.staticMembers == ["inst-s": "S"])
        #expect(h.group.members["B"]?.assignment == buf("b-bytes"))
        #expect(h.group.nextDeadlineMs == 60_000, "sessions restart at load time")

        let w = h.join("", newID: "S9", instance: "inst-s")
        let r = try #require(h.joinResult(w))
        #expect(r.errorCode == .none && r.generationID == 1 && r.memberID == "S9")
        #expect(h.state == .stable)
        let sync = h.sync("S9", instance: "inst-s")
        #expect(h.syncResult(sync)?.assignment == buf("s-bytes"))
        #expect(h.heartbeat("B") == .none)
    }
}

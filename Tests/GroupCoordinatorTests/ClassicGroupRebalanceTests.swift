import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// Rebalance flows of the classic protocol, checked against Kafka's GroupCoordinator.scala (3.6.0)
// and GroupMetadataManager.java (trunk, Oct 2024).

@Suite("Classic group: rebalance flows")
struct ClassicGroupRebalanceTests {
    @Test("JoinGroup v4: MEMBER_ID_REQUIRED, then the rejoin with the given id is admitted (KIP-394)")
    func memberIDRequiredRoundTrip() throws {
        var h = Harness()
        let first = h.join(newID: "client-1-uuid", v4: true)
        let answer = try #require(h.joinResult(first))
        #expect(answer.errorCode == .memberIDRequired)
        #expect(answer.memberID == "client-1-uuid")
        #expect(h.state == .empty)
        #expect(h.group.pendingMembers.keys.sorted() == ["client-1-uuid"])
        #expect(h.group.members.isEmpty)

        let second = h.join("client-1-uuid", v4: true)
        #expect(h.joinResult(second) == nil, "held during the initial delay")
        #expect(h.state == .preparingRebalance)
        #expect(h.group.pendingMembers.isEmpty)
        h.tickUntil(.completingRebalance)
        let joined = try #require(h.joinResult(second))
        #expect(joined.errorCode == .none)
        #expect(joined.memberID == "client-1-uuid")
        #expect(joined.leaderID == "client-1-uuid")
        #expect(joined.generationID == 1)
        #expect(joined.protocolName == "range")
        #expect(joined.members.map(\.memberID) == ["client-1-uuid"])
    }

    @Test("three members during group.initial.rebalance.delay.ms: one generation, exactly one leader")
    func initialDelayWithThreeMembers() throws {
        var h = Harness(limits: .test(initialDelayMs: 3000))
        let a = h.join(newID: "A", rebalance: 10_000)
        #expect(h.group.nextDeadlineMs == 3000)  // InitialDelayedJoin(delay = 3000)
        h.now = 1000
        let b = h.join(newID: "B", rebalance: 10_000)
        h.now = 2500
        let c = h.join(newID: "C", rebalance: 10_000)
        h.tick(at: 3000)
        // New members arrived: the delay is extended by min(3000, remaining 7000).
        #expect(h.state == .preparingRebalance)
        #expect(h.group.nextDeadlineMs == 6000)
        #expect(h.joinResult(a) == nil && h.joinResult(b) == nil && h.joinResult(c) == nil)
        h.tick(at: 5999)
        #expect(h.state == .preparingRebalance)
        h.tick(at: 6000)
        #expect(h.state == .completingRebalance)
        let results = try [a, b, c].map { try #require(h.joinResult($0)) }
        #expect(results.allSatisfy { $0.errorCode == .none && $0.generationID == 1 && $0.leaderID == "A" })
        #expect(results.map(\.memberID) == ["A", "B", "C"])
        let withList = results.filter { !$0.members.isEmpty }
        #expect(withList.count == 1)
        #expect(withList.first?.memberID == "A")
        #expect(Set(withList.first?.members.map(\.memberID) ?? []) == ["A", "B", "C"])
    }

    @Test("the initial delay keeps extending while members arrive, capped by the rebalance timeout")
    func initialDelayCappedByRebalanceTimeout() {
        // InitialDelayedJoin: delay 3000, remaining = rebalance 10000 - 3000; each extension
        // min(3000, remaining), remaining -= the previous delay → fires at 3000, 6000, 9000, 10000.
        var h = Harness(limits: .test(initialDelayMs: 3000))
        h.join(newID: "A", rebalance: 10_000)
        h.now = 1000; h.join(newID: "B", rebalance: 10_000)
        h.tick(at: 3000)
        #expect(h.group.nextDeadlineMs == 6000)
        h.now = 5000; h.join(newID: "C", rebalance: 10_000)
        h.tick(at: 6000)
        #expect(h.group.nextDeadlineMs == 9000)
        h.now = 8000; h.join(newID: "D", rebalance: 10_000)
        h.tick(at: 9000)
        #expect(h.group.nextDeadlineMs == 10_000)
        h.now = 9500; h.join(newID: "E", rebalance: 10_000)
        h.tick(at: 10_000)
        #expect(h.state == .completingRebalance)
        #expect(h.group.members.count == 5)
        #expect(h.group.generationID == 1)
    }

    @Test("protocol selection: most first-choice votes among protocols every member supports",
          arguments: [
              ([["range", "roundrobin"], ["roundrobin", "range"], ["roundrobin"]], "roundrobin"),
              ([["range", "roundrobin"], ["range", "roundrobin"], ["roundrobin", "range"]], "range"),
              ([["sticky", "range"], ["range", "sticky"], ["cooperative-sticky", "range"]], "range"),
          ])
    func protocolSelection(_ prefs: [[String]], _ expected: String) throws {
        var h = Harness()
        var waiters: [GroupWaiter] = []
        for (i, names) in prefs.enumerated() {
            waiters.append(h.join(newID: "m\(i)", protocols: names.map { proto($0, ["t-\($0)"]) }))
        }
        h.tickUntil(.completingRebalance)
        #expect(h.group.protocolName == expected)
        let leader = try #require(h.joinResult(waiters[0]))
        #expect(leader.protocolName == expected)
        // The leader gets each member's metadata for the chosen protocol.
        #expect(leader.members.map(\.metadata) == Array(repeating: subscriptionV0(["t-\(expected)"]), count: prefs.count))
    }

    @Test("INCONSISTENT_GROUP_PROTOCOL: no common protocol, another protocol type, or none at all")
    func inconsistentProtocol() throws {
        var h = Harness()
        h.join(newID: "A", protocols: [proto("range")])
        #expect(h.state == .preparingRebalance)
        let noCommon = h.join(newID: "B", protocols: [proto("roundrobin")])
        #expect(h.joinResult(noCommon)?.errorCode == .inconsistentGroupProtocol)
        let otherType = h.join(newID: "C", protocols: [proto("range")], type: "connect")
        #expect(h.joinResult(otherType)?.errorCode == .inconsistentGroupProtocol)
        #expect(h.group.members.keys.sorted() == ["A"])

        var empty = Harness()
        let none = empty.join(newID: "A", protocols: [])
        #expect(empty.joinResult(none)?.errorCode == .inconsistentGroupProtocol)
        let noType = empty.join(newID: "A", type: "")
        #expect(empty.joinResult(noType)?.errorCode == .inconsistentGroupProtocol)
        #expect(empty.state == .empty)
    }

    @Test("the leader's SyncGroup stores the group, then gives every member its bytes (empty if left out)")
    func leaderSyncDeliversAssignments() throws {
        var h = Harness.completing()
        let b = h.sync("B")
        let s = h.sync("S", instance: "inst-s")
        #expect(h.syncResult(b) == nil && h.syncResult(s) == nil)
        let a = h.sync("A", assignments: ["A": buf("for-a"), "B": buf("for-b")])  // S left out
        #expect(h.state == .stable)
        let actions = h.lastActions
        let storeIndex = try #require(actions.firstIndex { if case .storeAssignment = $0 { return true } else { return false } })
        let syncIndices = actions.indices.filter { if case .completeSync = actions[$0] { return true } else { return false } }
        #expect(syncIndices.count == 3)
        #expect(syncIndices.allSatisfy { $0 > storeIndex }, "the assignment store precedes every SyncGroup response")
        #expect(h.syncResult(a)?.assignment == buf("for-a"))
        #expect(h.syncResult(b)?.assignment == buf("for-b"))
        let left = try #require(h.syncResult(s))
        #expect(left.errorCode == .none)
        #expect(left.assignment.readableBytes == 0)
        #expect(left.protocolType == "consumer" && left.protocolName == "range")
        // What is persisted carries the assignments.
        let stored = h.group.metadataValue
        #expect(stored.members.map(\.assignment) == [buf("for-a"), buf("for-b"), ByteBuffer()])
        #expect(stored.generationID == 1 && stored.leaderID == "A" && stored.protocolName == "range")
    }

    @Test("a fourth member joining a Stable group rebalances; the others' heartbeats say REBALANCE_IN_PROGRESS")
    func fourthMemberRebalances() throws {
        var h = Harness.stable()
        h.now += 1000
        let d = h.join(newID: "D")
        #expect(h.state == .preparingRebalance)
        #expect(h.heartbeat("A") == .rebalanceInProgress)
        #expect(h.heartbeat("B") == .rebalanceInProgress)
        #expect(h.heartbeat("S", instance: "inst-s") == .rebalanceInProgress)
        let a = h.join("A"), b = h.join("B")
        #expect(h.state == .preparingRebalance, "S has not rejoined yet")
        let s = h.join("S", instance: "inst-s")
        #expect(h.state == .completingRebalance, "everyone rejoined: the join phase completes at once")
        let results = try [a, b, s, d].map { try #require(h.joinResult($0)) }
        #expect(results.allSatisfy { $0.generationID == 2 && $0.errorCode == .none })
        #expect(results.filter { !$0.members.isEmpty }.map(\.memberID) == ["A"])
    }

    @Test("rebalance timeout: dynamic members that did not rejoin are dropped")
    func rebalanceTimeoutDropsDynamicMembers() throws {
        var h = Harness.stable()
        let start = h.now
        h.join(newID: "D")
        h.join("A")
        h.join("S", instance: "inst-s")
        // B keeps heartbeating but never rejoins.
        for t in stride(from: start + 5000, to: start + Int64(Harness.rebalance), by: 5000) {
            h.tick(at: t)
            #expect(h.heartbeat("B") == .rebalanceInProgress)
        }
        #expect(h.state == .preparingRebalance)
        h.tick(at: start + Int64(Harness.rebalance))
        #expect(h.state == .completingRebalance)
        #expect(h.group.generationID == 2)
        #expect(h.group.members.keys.sorted() == ["A", "D", "S"])
        #expect(h.heartbeat("B", generation: 2) == .unknownMemberID)
    }

    @Test("sync timeout: members that never send SyncGroup in CompletingRebalance are dropped and the group rebalances")
    func syncTimeoutInCompletingRebalance() throws {
        var h = Harness.completing()
        let start = h.now
        let b = h.sync("B")  // only B syncs; the leader A and S never do
        // Everyone keeps heartbeating (the Java client's heartbeat thread runs in CompletingRebalance).
        // Without B's heartbeats see ClassicGroupTimerTests.memberWaitingInSyncKeepsItsSession.
        for t in stride(from: start + 3000, to: start + Int64(Harness.rebalance), by: 3000) {
            h.tick(at: t)
            #expect(h.heartbeat("A") == .none)
            #expect(h.heartbeat("B") == .none)
            #expect(h.heartbeat("S", instance: "inst-s") == .none)
        }
        h.tick(at: start + Int64(Harness.rebalance) - 1)
        #expect(h.state == .completingRebalance)
        #expect(h.group.members.count == 3)
        h.tick(at: start + Int64(Harness.rebalance))
        #expect(h.state == .preparingRebalance)
        #expect(h.group.members.keys.sorted() == ["B"])
        #expect(h.syncResult(b)?.errorCode == .rebalanceInProgress)
        let rejoin = h.join("B")
        #expect(h.state == .completingRebalance)
        let r = try #require(h.joinResult(rejoin))
        #expect(r.generationID == 2 && r.leaderID == "B" && r.members.map(\.memberID) == ["B"])
    }

    // Kafka keeps members that have not sent SyncGroup in `pendingSyncMembers` after the leader's
    // SyncGroup too: DelayedSync / expirePendingSync remove them in CompletingRebalance *or Stable*
    // (GroupCoordinator.scala 3.6.0 onExpirePendingSync; GroupMetadataManager.java expirePendingSync).
    @Test("sync timeout also drops a follower that never syncs after the leader did (Stable)")
    func syncTimeoutInStable() {
        var h = Harness.completing()
        let start = h.now
        h.sync("A", assignments: ["A": buf("a"), "B": buf("b"), "S": buf("s")])
        h.sync("S", instance: "inst-s")
        #expect(h.state == .stable)
        // B heartbeats (so its session never lapses) but never sends SyncGroup.
        for t in stride(from: start + 3000, through: start + Int64(Harness.rebalance), by: 3000) {
            h.tick(at: t)
            _ = h.heartbeat("B")
            _ = h.heartbeat("A")
            _ = h.heartbeat("S", instance: "inst-s")
        }
        h.tick(at: start + Int64(Harness.rebalance) + 1)
        #expect(h.group.members.keys.sorted() == ["A", "S"], "Kafka removes B when the pending-sync timer fires")
        #expect(h.state == .preparingRebalance)
    }

    // Kafka's prepareRebalance completes the join phase at once when every member is already
    // waiting (scala: rebalancePurgatory.tryCompleteElseWatch → tryCompleteJoin →
    // hasAllMembersJoined; java: prepareRebalance → maybeCompleteJoinElseSchedule).
    @Test("a single-member group whose leader rejoins completes the rebalance at once")
    func singleMemberLeaderRejoin() {
        var h = Harness()
        h.join(newID: "A")
        h.tickUntil(.completingRebalance)
        h.sync("A", assignments: ["A": buf("a")])
        #expect(h.state == .stable)
        h.now += 1000
        let w = h.join("A")
        #expect(h.joinResult(w)?.errorCode == ErrorCode.none, "JoinGroup answered at once, not after the rebalance timeout")
        #expect(h.joinResult(w)?.generationID == 2)
        #expect(h.state == .completingRebalance)
    }

    // Same rule: the last member leaving a Stable group leaves nobody to wait for, so Kafka
    // completes the join phase in the same call and the group is Empty (generation + 1).
    @Test("the last member leaving a Stable group makes it Empty at once")
    func lastMemberLeavesStable() {
        var h = Harness()
        h.join(newID: "A")
        h.tickUntil(.completingRebalance)
        h.sync("A", assignments: ["A": buf("a")])
        #expect(h.leave("A") == .none)
        #expect(h.state == .empty)
        #expect(h.group.generationID == 2)
        #expect(h.lastActions.contains(.storeGroup), "the Empty generation is persisted")
    }
}

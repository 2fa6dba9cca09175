import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// Session, pending-member and rebalance deadlines driven by a manual time. Kafka's rules:
// GroupCoordinator.scala (3.6.0) completeAndScheduleNextHeartbeatExpiration / onExpireHeartbeat /
// addPendingMemberExpiration, MemberMetadata.hasSatisfiedHeartbeat, and the same in
// GroupMetadataManager.java (rescheduleClassicGroupMemberHeartbeat, expireClassicGroupMemberHeartbeat,
// ClassicGroupMember.hasSatisfiedHeartbeat). The fixtures use session 10 s and rebalance 30 s; the
// Stable fixture's sessions were last refreshed by SyncGroup at t = 6000.

@Suite("Classic group: timers")
struct ClassicGroupTimerTests {
    @Test("a member whose session lapses is removed and the group rebalances")
    func sessionExpiry() throws {
        var h = Harness.stable()
        #expect(h.now == 6000)
        for t: Int64 in [9000, 12_000, 15_000] {
            h.tick(at: t)
            #expect(h.heartbeat("A") == .none)
            #expect(h.heartbeat("S", instance: "inst-s") == .none)
        }
        h.tick(at: 15_999)
        #expect(h.group.has("B"))
        #expect(h.state == .stable)
        h.tick(at: 16_000)  // B's last sign of life was its SyncGroup at 6000
        #expect(!h.group.has("B"))
        #expect(h.state == .preparingRebalance)
        #expect(h.heartbeat("A") == .rebalanceInProgress)
        let a = h.join("A")
        let s = h.join("S", instance: "inst-s")
        #expect(h.state == .completingRebalance)
        #expect(h.joinResult(a)?.generationID == 2)
        #expect(h.joinResult(a)?.members.map(\.memberID) == ["A", "S"])
        #expect(h.joinResult(s)?.members.isEmpty == true)
    }

    @Test("heartbeats keep every member alive")
    func heartbeatsKeepMembers() {
        var h = Harness.stable()
        for t in stride(from: Int64(9000), through: 120_000, by: 3000) {
            h.tick(at: t)
            #expect(h.heartbeat("A") == .none)
            #expect(h.heartbeat("B") == .none)
            #expect(h.heartbeat("S", instance: "inst-s") == .none)
        }
        #expect(h.state == .stable)
        #expect(h.group.generationID == 1)
        #expect(h.group.members.count == 3)
    }

    @Test("a pending member (MEMBER_ID_REQUIRED) expires after its session timeout")
    func pendingMemberExpires() {
        var h = Harness.stable()
        h.now = 7000
        let w = h.join(newID: "P", v4: true, session: 8000)
        #expect(h.joinResult(w)?.errorCode == .memberIDRequired)
        #expect(h.group.pendingMembers["P"] == 15_000)
        #expect(h.group.nextDeadlineMs == 15_000)
        h.tick(at: 14_999)
        #expect(h.group.pendingMembers["P"] != nil)
        h.tick(at: 15_000)
        #expect(h.group.pendingMembers.isEmpty)
        #expect(h.state == .stable)
        // [join-cur] the id is neither pending nor a member any more.
        let late = h.join("P", v4: true)
        #expect(h.joinResult(late)?.errorCode == .unknownMemberID)
    }

    @Test("an outstanding pending member holds the join phase until it expires")
    func pendingMemberHoldsRebalance() throws {
        var h = Harness.stable()
        h.now = 7000
        let a = h.join("A")  // leader rejoin → PreparingRebalance
        h.join(newID: "P", v4: true, session: 8000)  // pending until 15000
        h.join("B")
        h.join("S", instance: "inst-s")
        #expect(h.state == .preparingRebalance, "hasAllMembersJoined is false while a pending member exists")
        h.tick(at: 14_999)
        #expect(h.state == .preparingRebalance)
        h.tick(at: 15_000)
        #expect(h.state == .completingRebalance)
        #expect(h.joinResult(a)?.generationID == 2)
        #expect(h.group.members.count == 3)
    }

    @Test("members waiting in JoinGroup are not session-expired")
    func awaitingJoinNotExpired() throws {
        var h = Harness.stable()
        h.now = 7000
        let n = h.join(newID: "N")
        let a = h.join("A")
        for t in stride(from: Int64(9000), through: 30_000, by: 3000) {  // A's session would end at 16000
            h.tick(at: t)
            #expect(h.heartbeat("B") == .rebalanceInProgress)
            #expect(h.heartbeat("S", instance: "inst-s") == .rebalanceInProgress)
        }
        #expect(h.group.has("A") && h.group.has("N"))
        #expect(h.joinResult(a) == nil)
        h.join("B")
        h.join("S", instance: "inst-s")
        #expect(h.joinResult(a)?.generationID == 2)
        #expect(h.joinResult(n)?.generationID == 2)
    }

    // Kafka: a member waiting in SyncGroup satisfies its heartbeat (hasSatisfiedHeartbeat), and
    // when its SyncGroup is answered — with the assignment or with REBALANCE_IN_PROGRESS —
    // propagateAssignment reschedules its session ("if any member's session expired while we were
    // still awaiting either the leader sync group or the storage callback, its expiration will be
    // ignored").
    @Test("a member waiting in SyncGroup keeps its session and gets a new one when answered")
    func memberWaitingInSyncKeepsItsSession() throws {
        var h = Harness.completing()  // t = 6000, sync deadline 36000
        let b = h.sync("B")
        for t in stride(from: Int64(9000), to: 36_000, by: 3000) {
            h.tick(at: t)
            _ = h.heartbeat("A")
            _ = h.heartbeat("S", instance: "inst-s")
        }
        #expect(h.group.has("B"), "waiting in SyncGroup counts as alive")
        h.tick(at: 36_000)  // A and S never synced: dropped; B's SyncGroup answered
        #expect(h.syncResult(b)?.errorCode == .rebalanceInProgress)
        #expect(h.group.members.keys.sorted() == ["B"], "B was answered just now and must get a fresh session")
        #expect(h.state == .preparingRebalance)
        let rejoin = h.join("B")
        #expect(h.joinResult(rejoin)?.generationID == 2)
    }

    // Kafka: a member added by JoinGroup is `isNew` until the join phase completes; its heartbeat
    // timer is NewMemberJoinTimeoutMs = 5 min (scala GroupCoordinator.NewMemberJoinTimeoutMs,
    // java classicGroupNewMemberJoinTimeoutMs), after which it is removed with UNKNOWN_MEMBER_ID
    // even though it is waiting in JoinGroup.
    @Test("a new member waiting in JoinGroup expires after the 5-minute new-member join timeout")
    func newMemberJoinTimeout() throws {
        var h = Harness()
        h.join(newID: "A", rebalance: 600_000)
        h.tickUntil(.completingRebalance)
        h.sync("A", assignments: ["A": buf("a")])
        let start = h.now
        let n = h.join(newID: "N", rebalance: 600_000)
        #expect(h.state == .preparingRebalance)
        for t in stride(from: start + 3000, through: start + 300_000, by: 3000) {  // A never rejoins
            h.tick(at: t)
            #expect(h.heartbeat("A") == .rebalanceInProgress)
        }
        h.tick(at: start + 300_000)
        #expect(h.joinResult(n)?.errorCode == .unknownMemberID)
        #expect(h.group.members.keys.sorted() == ["A"])
    }

    @Test("nextDeadlineMs is the earliest pending, join, sync or session deadline")
    func nextDeadline() {
        var empty = Harness()
        #expect(empty.group.nextDeadlineMs == nil)
        empty.now = 100
        empty.join(newID: "P", v4: true)  // pending until 100 + 10000
        #expect(empty.group.nextDeadlineMs == 10_100)
        empty.now = 200
        empty.join(newID: "A")  // initial delay until 200 + 3000
        #expect(empty.group.nextDeadlineMs == 3200)

        var c = Harness.completing()  // join completed at 6000: sessions 16000, sync deadline 36000
        #expect(c.group.nextDeadlineMs == 16_000)
        c.now = 8000
        c.sync("B")
        c.sync("S", instance: "inst-s")
        #expect(c.group.nextDeadlineMs == 16_000, "A's session")
        #expect(c.heartbeat("A") == .none)  // A: 18000; B and S wait in SyncGroup
        #expect(c.group.nextDeadlineMs == 18_000)

        var s = Harness.stable()  // sessions 16000
        #expect(s.group.nextDeadlineMs == 16_000)
        s.now = 9000
        _ = s.heartbeat("A"); _ = s.heartbeat("B"); _ = s.heartbeat("S", instance: "inst-s")
        #expect(s.group.nextDeadlineMs == 19_000)
        s.now = 12_000
        _ = s.heartbeat("B")
        #expect(s.group.nextDeadlineMs == 19_000)
    }
}

import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// State × request table for the classic group protocol. Every expectation comes from Kafka, not
// from our implementation:
//   [brief]  ../shared/research/kafka-protocol-brief.md §6.1–6.2
//   [join-new]   GroupCoordinator.scala (3.6.0) doNewMemberJoinGroup / doDynamicNewMemberJoinGroup;
//                GroupMetadataManager.java classicGroupJoinNewMember / classicGroupJoinNewDynamicMember:
//                Dead → COORDINATOR_NOT_AVAILABLE; v4+ dynamic → MEMBER_ID_REQUIRED + pending, state kept;
//                v0-3 → addMemberAndRebalance (response held, Stable/Completing/Empty → PreparingRebalance).
//   [join-cur]   doCurrentMemberJoinGroup / classicGroupJoinExistingMember: validateCurrentMember first
//                (unknown → UNKNOWN_MEMBER_ID); PreparingRebalance → held; CompletingRebalance + same
//                protocols → current generation at once, changed → rebalance; Stable: leader or changed →
//                rebalance, follower unchanged → current generation at once; Empty → UNKNOWN_MEMBER_ID.
//   [sync]       validateSyncGroup / classicGroupSyncToClassicGroup: Dead → COORDINATOR_NOT_AVAILABLE,
//                then member (FENCED/UNKNOWN), then generation (ILLEGAL_GENERATION), then state: Empty →
//                UNKNOWN_MEMBER_ID, Preparing → REBALANCE_IN_PROGRESS, Completing → held (leader: store +
//                Stable), Stable → current assignment.
//   [hb]         validateHeartbeat / classicGroupHeartbeatToClassicGroup: Dead → COORDINATOR_NOT_AVAILABLE,
//                member, generation; Empty → UNKNOWN_MEMBER_ID, Preparing → REBALANCE_IN_PROGRESS,
//                Completing/Stable → NONE.
//   [member]     validateCurrentMember (scala) / ClassicGroup.validateMember (java): an instance id that
//                maps to another member id → FENCED_INSTANCE_ID; an instance id the group does not know →
//                UNKNOWN_MEMBER_ID; else the member id must exist.
//   [leave]      handleLeaveGroup / classicGroupLeaveToClassicGroup: Dead → top-level
//                COORDINATOR_NOT_AVAILABLE; empty member id → by instance id; pending → NONE;
//                else validateCurrentMember then removeMemberAndUpdateGroup (Stable/Completing →
//                PreparingRebalance).
//   [commit]     validateOffsetCommit / doCommitOffsets (ClassicGroup.validateOffsetCommit in java):
//                Dead → COORDINATOR_NOT_AVAILABLE; generation < 0 in Empty → accepted; generation ≥ 0 or
//                member id → member then generation; generation < 0 without member in a non-Empty group
//                → UNKNOWN_MEMBER_ID; CompletingRebalance → REBALANCE_IN_PROGRESS; Stable/Preparing → NONE.
//
// Fixtures (see GroupTestSupport): members A (leader), B, S (static "inst-s"), protocol range,
// generation 1. Empty = a new group; PreparingRebalance = Stable + new member N (v3) waiting in
// JoinGroup; Dead = Stable after markDead (Kafka's onGroupUnloaded moves any state to Dead).

enum GroupRequest: String, Sendable, CaseIterable {
    case joinUnknownV3, joinUnknownV4, joinKnownSame, joinKnownChanged, joinLeader
    case syncLeader, syncFollower, syncWrongGeneration, syncUnknown
    case heartbeatOK, heartbeatWrongGeneration, heartbeatUnknown, heartbeatFencedStatic, heartbeatUnknownInstance
    case leaveKnown, leaveUnknown, leavePending, leaveStaticByInstance, leaveFencedStatic
    case commitSimple, commitMember, commitWrongGeneration, commitUnknownMember
}

/// What the request's own response was: an immediate error code (NONE included) or held.
enum Outcome: Equatable, Sendable, CustomStringConvertible {
    case code(ErrorCode)
    case held
    var description: String {
        switch self {
        case .code(let c): return "\(c)"
        case .held: return "held"
        }
    }
}

struct StateRow: Sendable, CustomTestStringConvertible {
    let state: GroupState
    let request: GroupRequest
    let expect: Outcome
    let next: GroupState
    init(_ state: GroupState, _ request: GroupRequest, _ expect: Outcome, _ next: GroupState) {
        self.state = state
        self.request = request
        self.expect = expect
        self.next = next
    }
    var testDescription: String { "\(state.rawValue) × \(request.rawValue) → \(expect), \(next.rawValue)" }
}

private let NONE = Outcome.code(.none)
private let UNKNOWN = Outcome.code(.unknownMemberID)
private let ILLEGAL = Outcome.code(.illegalGeneration)
private let REBALANCING = Outcome.code(.rebalanceInProgress)
private let FENCED = Outcome.code(.fencedInstanceID)
private let NOT_AVAILABLE = Outcome.code(.coordinatorNotAvailable)
private let MEMBER_ID_REQUIRED = Outcome.code(.memberIDRequired)

private let E = GroupState.empty, P = GroupState.preparingRebalance, C = GroupState.completingRebalance
private let S = GroupState.stable, D = GroupState.dead

let stateTable: [StateRow] = [
    // Empty (new group, generation 0, no members)
    StateRow(E, .joinUnknownV3, .held, P),                  // [join-new] v0-3: added; Empty → PreparingRebalance (initial delay)
    StateRow(E, .joinUnknownV4, MEMBER_ID_REQUIRED, E),     // [join-new] KIP-394; [brief] rule 16
    StateRow(E, .joinKnownSame, UNKNOWN, E),                // [join-cur] validateCurrentMember: no such member
    StateRow(E, .joinKnownChanged, UNKNOWN, E),             // [join-cur]
    StateRow(E, .joinLeader, UNKNOWN, E),                   // [join-cur]
    StateRow(E, .syncLeader, UNKNOWN, E),                   // [sync] member check before state
    StateRow(E, .syncFollower, UNKNOWN, E),                 // [sync]
    StateRow(E, .syncWrongGeneration, UNKNOWN, E),          // [sync] member checked before generation
    StateRow(E, .syncUnknown, UNKNOWN, E),                  // [sync]
    StateRow(E, .heartbeatOK, UNKNOWN, E),                  // [hb] [brief] "Empty/unknown member → UNKNOWN_MEMBER_ID"
    StateRow(E, .heartbeatWrongGeneration, UNKNOWN, E),     // [hb] member before generation
    StateRow(E, .heartbeatUnknown, UNKNOWN, E),             // [hb]
    StateRow(E, .heartbeatFencedStatic, UNKNOWN, E),        // [member] instance unknown to the group → UNKNOWN_MEMBER_ID
    StateRow(E, .heartbeatUnknownInstance, UNKNOWN, E),     // [member]
    StateRow(E, .leaveKnown, UNKNOWN, E),                   // [leave] validateCurrentMember
    StateRow(E, .leaveUnknown, UNKNOWN, E),                 // [leave]
    StateRow(E, .leavePending, NONE, E),                    // [leave] pending member removed
    StateRow(E, .leaveStaticByInstance, UNKNOWN, E),        // [leave] instance id not mapped
    StateRow(E, .leaveFencedStatic, UNKNOWN, E),            // [leave]+[member] instance unknown
    StateRow(E, .commitSimple, NONE, E),                    // [commit] generation -1 in Empty is accepted
    StateRow(E, .commitMember, UNKNOWN, E),                 // [commit] generation ≥ 0 → member must exist
    StateRow(E, .commitWrongGeneration, UNKNOWN, E),        // [commit] member before generation
    StateRow(E, .commitUnknownMember, UNKNOWN, E),          // [commit]

    // PreparingRebalance (generation 1; A, B, S not rejoined; N waiting)
    StateRow(P, .joinUnknownV3, .held, P),                  // [join-new] added to the running rebalance
    StateRow(P, .joinUnknownV4, MEMBER_ID_REQUIRED, P),     // [join-new]
    StateRow(P, .joinKnownSame, .held, P),                  // [join-cur] PreparingRebalance → updateMemberAndRebalance
    StateRow(P, .joinKnownChanged, .held, P),               // [join-cur]
    StateRow(P, .joinLeader, .held, P),                     // [join-cur]
    StateRow(P, .syncLeader, REBALANCING, P),               // [sync] [brief] "sync while PreparingRebalance → 27"
    StateRow(P, .syncFollower, REBALANCING, P),             // [sync]
    StateRow(P, .syncWrongGeneration, ILLEGAL, P),          // [sync] generation before state
    StateRow(P, .syncUnknown, UNKNOWN, P),                  // [sync]
    StateRow(P, .heartbeatOK, REBALANCING, P),              // [hb] [brief] §6.1.4
    StateRow(P, .heartbeatWrongGeneration, ILLEGAL, P),     // [hb]
    StateRow(P, .heartbeatUnknown, UNKNOWN, P),             // [hb]
    StateRow(P, .heartbeatFencedStatic, FENCED, P),         // [member]
    StateRow(P, .heartbeatUnknownInstance, UNKNOWN, P),     // [member] unknown instance id → UNKNOWN_MEMBER_ID
    StateRow(P, .leaveKnown, NONE, P),                      // [leave] A and S still missing
    StateRow(P, .leaveUnknown, UNKNOWN, P),                 // [leave]
    StateRow(P, .leavePending, NONE, P),                    // [leave]
    StateRow(P, .leaveStaticByInstance, NONE, P),           // [leave] by instance id (LeaveGroup v3+)
    StateRow(P, .leaveFencedStatic, FENCED, P),             // [leave]+[member]
    StateRow(P, .commitSimple, UNKNOWN, P),                 // [commit] no member id in a non-Empty group
    StateRow(P, .commitMember, NONE, P),                    // [commit] "During PreparingRebalance we still allow a commit"
    StateRow(P, .commitWrongGeneration, ILLEGAL, P),        // [commit]
    StateRow(P, .commitUnknownMember, UNKNOWN, P),          // [commit]

    // CompletingRebalance (generation 1, no SyncGroup yet)
    StateRow(C, .joinUnknownV3, .held, P),                  // [join-new] addMemberAndRebalance → PreparingRebalance
    StateRow(C, .joinUnknownV4, MEMBER_ID_REQUIRED, C),     // [join-new]
    StateRow(C, .joinKnownSame, NONE, C),                   // [join-cur] same metadata → current generation again
    StateRow(C, .joinKnownChanged, .held, P),               // [join-cur] changed metadata → rebalance
    StateRow(C, .joinLeader, NONE, C),                      // [join-cur] same metadata, leader gets the member list
    StateRow(C, .syncLeader, NONE, S),                      // [sync] leader's assignment stored → Stable
    StateRow(C, .syncFollower, .held, C),                   // [sync] follower waits for the leader
    StateRow(C, .syncWrongGeneration, ILLEGAL, C),          // [sync]
    StateRow(C, .syncUnknown, UNKNOWN, C),                  // [sync]
    StateRow(C, .heartbeatOK, NONE, C),                     // [hb]
    StateRow(C, .heartbeatWrongGeneration, ILLEGAL, C),     // [hb]
    StateRow(C, .heartbeatUnknown, UNKNOWN, C),             // [hb]
    StateRow(C, .heartbeatFencedStatic, FENCED, C),         // [member]
    StateRow(C, .heartbeatUnknownInstance, UNKNOWN, C),     // [member]
    StateRow(C, .leaveKnown, NONE, P),                      // [leave] removeMemberAndUpdateGroup → PreparingRebalance
    StateRow(C, .leaveUnknown, UNKNOWN, C),                 // [leave]
    StateRow(C, .leavePending, NONE, C),                    // [leave] pending removal does not rebalance
    StateRow(C, .leaveStaticByInstance, NONE, P),           // [leave]
    StateRow(C, .leaveFencedStatic, FENCED, C),             // [leave]
    StateRow(C, .commitSimple, UNKNOWN, C),                 // [commit]
    StateRow(C, .commitMember, REBALANCING, C),             // [commit] CompletingRebalance → REBALANCE_IN_PROGRESS
    StateRow(C, .commitWrongGeneration, ILLEGAL, C),        // [commit]
    StateRow(C, .commitUnknownMember, UNKNOWN, C),          // [commit]

    // Stable (generation 1)
    StateRow(S, .joinUnknownV3, .held, P),                  // [join-new]
    StateRow(S, .joinUnknownV4, MEMBER_ID_REQUIRED, S),     // [join-new] no rebalance until it rejoins with the id
    StateRow(S, .joinKnownSame, NONE, S),                   // [join-cur] follower unchanged → current generation
    StateRow(S, .joinKnownChanged, .held, P),               // [join-cur] changed metadata → rebalance
    StateRow(S, .joinLeader, .held, P),                     // [join-cur] leader JoinGroup forces a rebalance
    StateRow(S, .syncLeader, NONE, S),                      // [sync] Stable → current assignment
    StateRow(S, .syncFollower, NONE, S),                    // [sync]
    StateRow(S, .syncWrongGeneration, ILLEGAL, S),          // [sync]
    StateRow(S, .syncUnknown, UNKNOWN, S),                  // [sync]
    StateRow(S, .heartbeatOK, NONE, S),                     // [hb]
    StateRow(S, .heartbeatWrongGeneration, ILLEGAL, S),     // [hb]
    StateRow(S, .heartbeatUnknown, UNKNOWN, S),             // [hb]
    StateRow(S, .heartbeatFencedStatic, FENCED, S),         // [member]
    StateRow(S, .heartbeatUnknownInstance, UNKNOWN, S),     // [member]
    StateRow(S, .leaveKnown, NONE, P),                      // [leave] [brief] §6.1.5 "Triggers rebalance"
    StateRow(S, .leaveUnknown, UNKNOWN, S),                 // [leave]
    StateRow(S, .leavePending, NONE, S),                    // [leave]
    StateRow(S, .leaveStaticByInstance, NONE, P),           // [leave]
    StateRow(S, .leaveFencedStatic, FENCED, S),             // [leave]
    StateRow(S, .commitSimple, UNKNOWN, S),                 // [commit] [brief] §6.2 simple commit only without active members
    StateRow(S, .commitMember, NONE, S),                    // [commit]
    StateRow(S, .commitWrongGeneration, ILLEGAL, S),        // [commit] [brief] "wrong generation → 22"
    StateRow(S, .commitUnknownMember, UNKNOWN, S),          // [commit] [brief] "unknown member → 25"
] + GroupRequest.allCases.map { StateRow(D, $0, NOT_AVAILABLE, D) }
// Dead: every request → COORDINATOR_NOT_AVAILABLE ([join-new], [join-cur], [sync], [hb], [leave]
// top-level, [commit]); the group stays Dead.

@Suite("Classic group: state × request (Kafka's rules)")
struct ClassicGroupStateTests {
    static func fixture(_ state: GroupState) -> Harness {
        switch state {
        case .empty:
            return Harness()
        case .preparingRebalance:
            var h = Harness.stable()
            h.now += 1000
            h.join(newID: "N")
            return h
        case .completingRebalance:
            return Harness.completing()
        case .stable:
            return Harness.stable()
        case .dead:
            var h = Harness.stable()
            h.group.markDead(now: h.time)
            return h
        }
    }

    /// Runs `request` and returns the outcome of its own response.
    static func run(_ request: GroupRequest, on h: inout Harness) -> Outcome {
        let gen = h.group.generationID
        func joined(_ w: GroupWaiter) -> Outcome { h.joinResult(w).map { .code($0.errorCode) } ?? .held }
        func synced(_ w: GroupWaiter) -> Outcome { h.syncResult(w).map { .code($0.errorCode) } ?? .held }
        let changed = [proto("range"), proto("roundrobin")]
        switch request {
        case .joinUnknownV3: return joined(h.join(newID: "X"))
        case .joinUnknownV4: return joined(h.join(newID: "X", v4: true))
        case .joinKnownSame: return joined(h.join("B"))
        case .joinKnownChanged: return joined(h.join("B", protocols: changed))
        case .joinLeader: return joined(h.join("A"))
        case .syncLeader: return synced(h.sync("A", assignments: ["A": buf("a2"), "B": buf("b2")]))
        case .syncFollower: return synced(h.sync("B"))
        case .syncWrongGeneration: return synced(h.sync("B", generation: gen + 5))
        case .syncUnknown: return synced(h.sync("ghost"))
        case .heartbeatOK: return .code(h.heartbeat("B"))
        case .heartbeatWrongGeneration: return .code(h.heartbeat("B", generation: gen + 5))
        case .heartbeatUnknown: return .code(h.heartbeat("ghost"))
        case .heartbeatFencedStatic: return .code(h.heartbeat("S-old", instance: "inst-s"))
        case .heartbeatUnknownInstance: return .code(h.heartbeat("B", instance: "ghost-instance"))
        case .leaveKnown: return .code(h.leave("B"))
        case .leaveUnknown: return .code(h.leave("ghost"))
        case .leavePending:
            h.join(newID: "P", v4: true)  // MEMBER_ID_REQUIRED → "P" is pending
            return .code(h.leave("P"))
        case .leaveStaticByInstance: return .code(h.leave("", instance: "inst-s"))
        case .leaveFencedStatic: return .code(h.leave("S-old", instance: "inst-s"))
        case .commitSimple: return .code(h.commit("", generation: -1))
        case .commitMember: return .code(h.commit("B", generation: gen))
        case .commitWrongGeneration: return .code(h.commit("B", generation: gen + 5))
        case .commitUnknownMember: return .code(h.commit("ghost", generation: gen))
        }
    }

    @Test("fixtures are in the states they claim", arguments: GroupState.allCases)
    func fixtureStates(_ state: GroupState) {
        let h = Self.fixture(state)
        #expect(h.state == state)
        if state != .empty {
            #expect(h.group.generationID == 1)
            #expect(h.group.leaderID == "A")
            #expect(Set(h.group.members.keys).isSuperset(of: ["A", "B", "S"]))
            #expect(h.group.staticMembers == ["inst-s": "S"])
        }
    }

    @Test(arguments: stateTable)
    func row(_ row: StateRow) {
        var h = Self.fixture(row.state)
        let outcome = Self.run(row.request, on: &h)
        #expect(outcome == row.expect, "response")
        #expect(h.state == row.next, "next state")
    }

    @Test("the table covers every state × request")
    func coverage() {
        let covered = Set(stateTable.map { "\($0.state.rawValue)/\($0.request.rawValue)" })
        #expect(covered.count == GroupState.allCases.count * GroupRequest.allCases.count)
        #expect(stateTable.count == covered.count)
    }
}

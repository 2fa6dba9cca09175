import KafkaProtocol
import NIOCore
import Synchronization
import Testing

@testable import GroupCoordinator

// Shared helpers for the GroupCoordinator tests: a manual clock, byte builders and a harness that
// drives the pure `ClassicGroup` state machine and collects the responses it delivers.

/// A clock the tests move by hand; monotonic and wall time advance together.
final class ManualClock: @unchecked Sendable {
    private let state: Mutex<GroupTime>

    init(monotonicMs: Int64 = 0, wallMs: Int64 = 1_700_000_000_000) {
        state = Mutex(GroupTime(monotonicMs: monotonicMs, wallMs: wallMs))
    }

    var now: GroupTime { state.withLock { $0 } }

    func advance(_ ms: Int64) {
        state.withLock {
            $0.monotonicMs += ms
            $0.wallMs += ms
        }
    }

    /// The closure `GroupCoordinator` takes.
    var source: @Sendable () -> GroupTime { { [self] in self.now } }
}

/// Wall-clock base of the harness (any value; only differences matter).
let wallBase: Int64 = 1_700_000_000_000

func at(_ ms: Int64) -> GroupTime { GroupTime(monotonicMs: ms, wallMs: wallBase + ms) }

func buf(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
func buf(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

/// A ConsumerProtocolSubscription v0 written by hand (Kafka's `ConsumerProtocolSubscription.json`
/// v0): int16 version, int32 topic count, int16-length topic names, int32 user-data length (-1 =
/// null).
func subscriptionV0(_ topics: [String]) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(Int16(0), endianness: .big)
    b.writeInteger(Int32(topics.count), endianness: .big)
    for t in topics {
        b.writeInteger(Int16(t.utf8.count), endianness: .big)
        b.writeString(t)
    }
    b.writeInteger(Int32(-1), endianness: .big)
    return b
}

func proto(_ name: String, _ topics: [String] = ["orders"]) -> GroupProtocol {
    GroupProtocol(name: name, metadata: subscriptionV0(topics))
}

let range = [proto("range")]

extension GroupLimits {
    static func test(initialDelayMs: Int64 = 3000) -> GroupLimits {
        var l = GroupLimits()
        l.initialRebalanceDelayMs = initialDelayMs
        return l
    }
}

/// Drives one `ClassicGroup` at a manual time and keeps every JoinGroup/SyncGroup response it
/// delivers, by waiter.
struct Harness {
    var group: ClassicGroup
    var now: Int64 = 0
    var nextWaiter: GroupWaiter = 1
    var joins: [GroupWaiter: JoinGroupResult] = [:]
    var syncs: [GroupWaiter: SyncGroupResult] = [:]
    /// The actions of the last operation, in order.
    var lastActions: [GroupAction] = []

    static let session: Int32 = 10_000
    static let rebalance: Int32 = 30_000

    init(groupID: String = "g", limits: GroupLimits = .test()) {
        group = ClassicGroup(groupID: groupID, limits: limits, now: at(0))
    }

    var time: GroupTime { at(now) }
    var state: GroupState { group.state }

    /// The error the next assignment store reports (nil = it succeeds).
    var assignmentStoreError: ErrorCode?

    /// Keeps the responses of `actions`; a `.storeAssignment` is completed at once (as a store
    /// would), and the follow-up actions are appended to `lastActions`.
    mutating func record(_ actions: [GroupAction]) {
        lastActions = []
        apply(actions)
    }

    private mutating func apply(_ actions: [GroupAction]) {
        for action in actions {
            lastActions.append(action)
            switch action {
            case .completeJoin(let w, let r): joins[w] = r
            case .completeSync(let w, let r): syncs[w] = r
            case .storeGroup: break
            case .storeAssignment(let generation):
                apply(group.completeAssignment(generationID: generation, error: assignmentStoreError, now: time))
            }
        }
    }

    private mutating func waiter() -> GroupWaiter {
        defer { nextWaiter += 1 }
        return nextWaiter
    }

    /// JoinGroup. `v4` = the request version requires a known member id (KIP-394).
    @discardableResult
    mutating func join(_ memberID: String = "", newID: String = "", instance: String? = nil,
                       protocols: [GroupProtocol] = range, type: String = "consumer", v4: Bool = false,
                       session: Int32 = Harness.session, rebalance: Int32 = Harness.rebalance) -> GroupWaiter {
        let w = waiter()
        let input = JoinGroupInput(memberID: memberID, groupInstanceID: instance, clientID: "client",
                                   clientHost: "/127.0.0.1", sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance,
                                   protocolType: type, protocols: protocols, requireKnownMemberID: v4,
                                   newMemberID: newID.isEmpty ? "new-\(w)" : newID, waiter: w)
        record(group.join(input, now: time))
        return w
    }

    @discardableResult
    mutating func sync(_ memberID: String, instance: String? = nil, generation: Int32? = nil,
                       assignments: [String: ByteBuffer] = [:]) -> GroupWaiter {
        let w = waiter()
        let input = SyncGroupInput(memberID: memberID, groupInstanceID: instance, generationID: generation ?? group.generationID,
                                   protocolType: nil, protocolName: nil, assignments: assignments, waiter: w)
        record(group.sync(input, now: time))
        return w
    }

    mutating func heartbeat(_ memberID: String, instance: String? = nil, generation: Int32? = nil) -> ErrorCode {
        group.heartbeat(memberID: memberID, groupInstanceID: instance, generationID: generation ?? group.generationID, now: time)
    }

    mutating func leave(_ memberID: String, instance: String? = nil) -> ErrorCode {
        let (errors, actions) = group.leave([.init(memberID: memberID, groupInstanceID: instance)], now: time)
        record(actions)
        return errors.first ?? .unknownServerError
    }

    mutating func commit(_ memberID: String, instance: String? = nil, generation: Int32) -> ErrorCode {
        group.validateCommit(memberID: memberID, groupInstanceID: instance, generationID: generation, now: time)
    }

    /// Moves the time to `ms` and runs the due deadlines.
    mutating func tick(at ms: Int64) {
        now = ms
        record(group.tick(now: time))
    }

    /// Runs deadlines one after another until the group reaches `state` (bounded).
    mutating func tickUntil(_ target: GroupState) {
        for _ in 0..<20 where group.state != target {
            guard let next = group.nextDeadlineMs else { return }
            tick(at: max(next, now))
        }
    }

    // MARK: - Fixtures

    /// Members A (dynamic, the leader), B (dynamic) and S (static, instance "inst-s"), all with
    /// `range`, joined at t=0 and past the join phase: CompletingRebalance, generation 1.
    static func completing(limits: GroupLimits = .test()) -> Harness {
        var h = Harness(limits: limits)
        h.join(newID: "A")
        h.join(newID: "B")
        h.join(newID: "S", instance: "inst-s")
        h.tickUntil(.completingRebalance)
        return h
    }

    /// `completing()` after every member's SyncGroup: Stable, generation 1, leader A.
    static func stable(limits: GroupLimits = .test()) -> Harness {
        var h = completing(limits: limits)
        h.sync("B")
        h.sync("S", instance: "inst-s")
        h.sync("A", assignments: ["A": buf("a-bytes"), "B": buf("b-bytes"), "S": buf("s-bytes")])
        return h
    }

    /// The JoinGroup answer for `w`, nil while it is held.
    func joinResult(_ w: GroupWaiter) -> JoinGroupResult? { joins[w] }
    func syncResult(_ w: GroupWaiter) -> SyncGroupResult? { syncs[w] }
}

/// Polls `condition` (yielding) until it holds; fails the test if it never does. Not a timing
/// assertion: the bound only keeps a broken implementation from hanging the suite.
func eventually(_ what: String, _ condition: () async -> Bool) async throws {
    for _ in 0..<200_000 {
        if await condition() { return }
        await Task.yield()
    }
    Issue.record("never happened: \(what)")
    throw CancellationError()
}

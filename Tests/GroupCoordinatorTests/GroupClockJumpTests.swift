import Testing

@testable import GroupCoordinator

/// Sessions run on monotonic time (GroupTime.monotonicMs): the system clock jumping a day ahead
/// expires no session and starts no rebalance (issue 11, Time).
@Suite("Classic group: wall-clock jumps")
struct GroupClockJumpTests {
    @Test("a wall clock jumped forward a day expires no session")
    func wallClockJumpExpiresNoSession() {
        var h = Harness.stable()
        let day: Int64 = 86_400_000
        // Monotonic time moves 3 s (well inside the 10 s sessions); the wall clock a day.
        let jumped = GroupTime(monotonicMs: 9000, wallMs: h.time.wallMs + day + 3000)
        h.now = 9000
        h.record(h.group.tick(now: jumped))
        #expect(h.state == .stable)
        #expect(h.group.members.count == 3)
        #expect(h.heartbeat("A") == .none)
        #expect(h.heartbeat("B") == .none)
        #expect(h.heartbeat("S", instance: "inst-s") == .none)
    }
}

import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import Synchronization
import SystemPackage
import Testing

/// A system clock and a monotonic clock the test moves by hand.
final class ManualClocks: Sendable {
    let wall = Mutex<Int64>(Log.wallClockMs())
    let monotonic = Mutex<Int64>(0)

    /// Both clocks advance together, as real time passing.
    func pass(_ ms: Int64) {
        wall.withLock { $0 += ms }
        monotonic.withLock { $0 += ms }
    }

    /// Only the system clock moves (an operator or a bad NTP server set it).
    func jump(_ ms: Int64) { wall.withLock { $0 += ms } }

    func steady(confirmAfterMs: Int64 = 600_000) -> SteadyWallClock {
        SteadyWallClock(wallMs: { self.wall.withLock { $0 } }, monotonicMs: { self.monotonic.withLock { $0 } },
                        confirmAfterMs: confirmAfterMs, logger: nil)
    }
}

private let day: Int64 = 86_400_000
private let hour: Int64 = 3_600_000

struct SteadyWallClockTests {
    @Test func forwardJumpIsHeldBackUntilItPersists() {
        let clocks = ManualClocks()
        let steady = clocks.steady(confirmAfterMs: 10 * 60_000)
        let start = steady.nowMs()
        clocks.pass(5000)
        #expect(steady.nowMs() == start + 5000, "follows the system clock while both agree")
        clocks.jump(day)
        #expect(steady.nowMs() == start + 5000, "a forward jump is not followed")
        clocks.pass(60_000)
        #expect(steady.nowMs() == start + 65_000, "time keeps passing at the monotonic rate")
        clocks.jump(-day)
        #expect(steady.nowMs() == start + 65_000, "the jump was undone: back in step")
        clocks.jump(day)
        #expect(steady.nowMs() == start + 65_000)
        clocks.pass(10 * 60_000)
        #expect(steady.nowMs() == start + 65_000 + 10 * 60_000 + day, "a jump that persists is accepted")
    }

    @Test func backwardJumpIsFollowedAtOnce() {
        let clocks = ManualClocks()
        let steady = clocks.steady()
        let start = steady.nowMs()
        clocks.jump(-hour)
        #expect(steady.nowMs() == start - hour)
    }

    /// Time retention (`retention.ms` one hour) with the system clock jumped forward a day: no
    /// segment goes, where Kafka's raw clock would delete them all.
    @Test func wallClockJumpDoesNotTriggerRetention() throws {
        try withTemporaryDirectory { dir throws in
            let clocks = ManualClocks()
            let steady = clocks.steady()
            var config = LogConfig()
            config.retentionMs = hour
            config.segmentBytes = 2000
            let log = try Log(directory: dir, config: config, logger: quietLogger, clock: { steady.nowMs() })
            defer { log.close() }
            let recordTime = clocks.wall.withLock { $0 } - 10 * 60_000
            for seed in 0..<6 {
                try log.append(makeBatch(recordCount: 20, seed: seed, baseTimestamp: recordTime), epoch: 0)
            }
            #expect(log.segmentCount > 2)
            let segments = log.segmentCount
            clocks.pass(1000)
            clocks.jump(day)
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset).isEmpty)
            #expect(log.segmentCount == segments)
            #expect(log.logStartOffset == 0)

            // Real time passing still expires them, and so does the jump once it has persisted.
            clocks.pass(hour)
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset)[.retentionTime] ?? 0 > 0)
        }
    }
}

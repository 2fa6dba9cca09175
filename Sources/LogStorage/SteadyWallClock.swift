#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// Wall-clock milliseconds for the broker's time-based storage rules (retention by time,
/// `segment.ms` rolls, idempotent-producer expiry, tombstone and `.deleted` file horizons) that a
/// jump of the system clock cannot push forward.
///
/// Kafka compares a segment's largest record timestamp with the raw system clock, so setting the
/// clock a day ahead deletes a day's worth of segments at the next retention check. Here the
/// reading follows the system clock only as fast as monotonic time (`ContinuousClock`, which keeps
/// counting while the machine sleeps) confirms it:
/// - Backward jumps and drift within `toleranceMs` are followed at once (they can only delay
///   time-based deletion).
/// - A forward jump larger than `toleranceMs` is held back: the reading keeps advancing from
///   where it was at the monotonic rate. If the system clock keeps the same lead for
///   `confirmAfterMs` of monotonic time (default 10 minutes: long enough for NTP or an operator to
///   undo a mistake, short enough that a deliberate correction takes effect soon), the jump is
///   accepted and the reading catches up.
///
/// Record timestamps (CreateTime from producers, LogAppendTime stamped from the system clock) are
/// untouched: only "now" is steadied.
public final class SteadyWallClock: Sendable {
    /// The process-wide clock the broker's logs use by default.
    public static let shared = SteadyWallClock()

    private struct State {
        /// Wall minus monotonic milliseconds currently believed.
        var offsetMs: Int64?
        /// A forward jump waiting for confirmation: its offset and the monotonic time it was first seen.
        var pending: (offsetMs: Int64, sinceMonotonicMs: Int64)?
    }

    private let wallMs: @Sendable () -> Int64
    private let monotonicMs: @Sendable () -> Int64
    private let toleranceMs: Int64
    private let confirmAfterMs: Int64
    private let logger: Logger?
    private let state = Mutex(State())

    /// - Parameters:
    ///   - wallMs: the system clock in milliseconds since the epoch (tests inject a jumping one).
    ///   - monotonicMs: a monotonic clock in milliseconds (any origin).
    ///   - toleranceMs: forward steps up to this are followed at once (default 1 s).
    ///   - confirmAfterMs: how long a forward jump must persist before it is followed (default 10 min).
    ///   - logger: told once when a jump is held back and once when it is accepted.
    public init(wallMs: @escaping @Sendable () -> Int64 = SteadyWallClock.systemWallMs,
                monotonicMs: @escaping @Sendable () -> Int64 = SteadyWallClock.continuousMs,
                toleranceMs: Int64 = 1000, confirmAfterMs: Int64 = 600_000, logger: Logger? = nil) {
        self.wallMs = wallMs
        self.monotonicMs = monotonicMs
        self.toleranceMs = toleranceMs
        self.confirmAfterMs = confirmAfterMs
        self.logger = logger ?? Logger(label: "runnel.clock")
    }

    /// The steadied wall-clock reading in milliseconds since the epoch.
    public func nowMs() -> Int64 {
        let wall = wallMs()
        let mono = monotonicMs()
        enum Event { case none, heldBack(Int64), accepted(Int64) }
        let (now, event) = state.withLock { state -> (Int64, Event) in
            let observed = wall - mono
            guard let offset = state.offsetMs else {
                state.offsetMs = observed
                return (wall, .none)
            }
            if observed - offset <= toleranceMs {
                state.offsetMs = observed
                state.pending = nil
                return (wall, .none)
            }
            if let pending = state.pending, abs(pending.offsetMs - observed) <= toleranceMs {
                if mono - pending.sinceMonotonicMs >= confirmAfterMs {
                    state.offsetMs = observed
                    state.pending = nil
                    return (wall, .accepted(observed - offset))
                }
                return (mono + offset, .none)
            }
            state.pending = (observed, mono)
            return (mono + offset, .heldBack(observed - offset))
        }
        switch event {
        case .none: break
        case .heldBack(let jump):
            logger?.warning("the system clock jumped forward; time-based retention, rolls and expiry keep monotonic time until the jump persists",
                            metadata: ["jump.ms": "\(jump)", "confirm.after.ms": "\(confirmAfterMs)"])
        case .accepted(let jump):
            logger?.warning("the system clock's forward jump persisted; time-based retention now follows it",
                            metadata: ["jump.ms": "\(jump)"])
        }
        return now
    }

    /// Milliseconds since the epoch from the system clock (`CLOCK_REALTIME`).
    @Sendable public static func systemWallMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private static let origin = ContinuousClock.now

    /// Milliseconds of `ContinuousClock` since the process first asked.
    @Sendable public static func continuousMs() -> Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
}

extension Log {
    /// ``SteadyWallClock/shared``: the default clock of a log.
    @Sendable public static func steadyWallClockMs() -> Int64 { SteadyWallClock.shared.nowMs() }
}

import Logging
import Synchronization

/// Bounds repeated log lines so one misbehaving client cannot flood the log: per key (an event
/// and the client's address), at most `burst` lines per `window`; lines beyond that are counted,
/// and the next line let through reports how many were suppressed.
final class LogRateLimiter: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var logged: Int
        var suppressed: Int
    }

    let burst: Int
    let window: Duration
    /// Keys kept at most; the oldest windows are dropped beyond it, so many distinct clients cannot
    /// grow the table without bound.
    let maxKeys: Int
    private let windows = Mutex<[String: Window]>([:])

    init(burst: Int = 10, window: Duration = .seconds(10), maxKeys: Int = 10_000) {
        self.burst = burst
        self.window = window
        self.maxKeys = maxKeys
    }

    /// Whether a line for `key` may be written now, and how many lines for it were suppressed
    /// since the last one written (nil: suppress this one).
    func admit(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        windows.withLock { windows in
            var w = windows[key] ?? Window(start: now, logged: 0, suppressed: 0)
            if now - w.start >= window {
                w.start = now
                w.logged = 0
            }
            guard w.logged < burst else {
                w.suppressed += 1
                windows[key] = w
                return nil
            }
            let suppressed = w.suppressed
            w.logged += 1
            w.suppressed = 0
            if windows[key] == nil, windows.count >= maxKeys {
                if let oldest = windows.min(by: { $0.value.start < $1.value.start })?.key { windows.removeValue(forKey: oldest) }
            }
            windows[key] = w
            return suppressed
        }
    }

    /// Logs `message` at `level` unless `key` is over its budget; adds `suppressed=N` when lines
    /// were dropped before it.
    func log(_ logger: Logger, _ level: Logger.Level, key: String, _ message: @autoclosure () -> Logger.Message,
             metadata: Logger.Metadata = [:]) {
        guard logger.logLevel <= level, let suppressed = admit(key) else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.log(level: level, message(), metadata: metadata)
    }
}

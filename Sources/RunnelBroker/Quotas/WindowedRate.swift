/// A rate measured over a sliding run of fixed-length samples, as Kafka's quota sensors measure it
/// (`quota.window.num` samples of `quota.window.size.seconds` each; Kafka's `Rate` over a
/// `SampledStat`, KIP-13).
///
/// Values are added to the sample covering `now`; samples that ended more than the whole span
/// ago are forgotten. The rate divides what the kept samples hold by the time they cover, but
/// that time is never taken as less than `samples - 1` whole windows, so a client's first burst
/// is spread over the span rather than measured over a few milliseconds (Kafka's rule).
///
/// A pure value type: time comes in as milliseconds on any monotonic clock.
struct WindowedRate: Sendable, Equatable {
    private struct Sample: Sendable, Equatable {
        var startMs: Int64
        var total: Double
    }

    /// `quota.window.num`: samples kept (Kafka default 11).
    let sampleCount: Int
    /// `quota.window.size.seconds` in milliseconds (Kafka default 1000).
    let windowMs: Int64
    /// Oldest first.
    private var samples: [Sample] = []

    init(sampleCount: Int = 11, windowMs: Int64 = 1000) {
        self.sampleCount = max(2, sampleCount)
        self.windowMs = max(1, windowMs)
    }

    /// Adds `value` (bytes, or request time in the quota's unit) at `nowMs`.
    mutating func record(_ value: Double, nowMs: Int64) {
        purge(nowMs: nowMs)
        if let last = samples.last, nowMs < last.startMs + windowMs {
            samples[samples.count - 1].total += value
        } else {
            // Windows are aligned to the first sample, so a gap leaves whole windows empty.
            let start = samples.last.map { $0.startMs + (nowMs - $0.startMs) / windowMs * windowMs } ?? nowMs
            samples.append(Sample(startMs: start, total: value))
            if samples.count > sampleCount { samples.removeFirst(samples.count - sampleCount) }
        }
    }

    /// The time the rate divides by at `nowMs`, in milliseconds: from the start of the oldest
    /// sample kept, at least `samples - 1` whole windows.
    func elapsedMs(nowMs: Int64) -> Int64 {
        let oldest = samples.first(where: { $0.startMs + Int64(sampleCount) * windowMs > nowMs })?.startMs ?? nowMs
        let elapsed = max(0, nowMs - oldest)
        let fullWindows = elapsed / windowMs
        let minimumFullWindows = Int64(sampleCount - 1)
        return fullWindows < minimumFullWindows ? elapsed + (minimumFullWindows - fullWindows) * windowMs : elapsed
    }

    /// Units per second at `nowMs`.
    func rate(nowMs: Int64) -> Double {
        let total = samples.filter { $0.startMs + Int64(sampleCount) * windowMs > nowMs }.reduce(0) { $0 + $1.total }
        return total / (Double(elapsedMs(nowMs: nowMs)) / 1000)
    }

    /// How long the client must wait for the rate to come back to `quota` (units per second):
    /// the excess over the quota, as a fraction of it, times the measured span (Kafka's
    /// `ClientQuotaManager.throttleTime`, KIP-13). Zero when at or under the quota.
    func throttleMs(quota: Double, nowMs: Int64) -> Int64 {
        guard quota > 0 else { return 0 }
        let observed = rate(nowMs: nowMs)
        guard observed > quota else { return 0 }
        return Int64(((observed - quota) / quota * Double(elapsedMs(nowMs: nowMs))).rounded(.up))
    }

    /// Whether nothing was recorded for a whole span before `nowMs` (the sensor can be dropped).
    func isIdle(nowMs: Int64) -> Bool {
        guard let last = samples.last else { return true }
        return last.startMs + Int64(sampleCount) * windowMs <= nowMs
    }

    private mutating func purge(nowMs: Int64) {
        let span = Int64(sampleCount) * windowMs
        samples.removeAll { $0.startMs + span <= nowMs }
    }
}

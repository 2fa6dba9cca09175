import Synchronization

/// Measures each client's produce bytes, fetch bytes and request time against its quota and says
/// how long to throttle it (KIP-13 byte-rate quotas, KIP-55 user and client-id entities, KIP-124
/// request-time quotas; throttling as KIP-219 has it).
///
/// One sensor (a ``WindowedRate``) per quota key and per ``ClientQuotas/SensorKey``: clients that
/// share a quota entity share its rate. Usage is recorded only for keys some entity sets, so with
/// no quotas nothing is measured. Sensors idle for a whole measurement span are dropped, so many
/// short-lived client ids cannot grow the table without bound.
final class ClientQuotaManager: Sendable {
    private struct SensorID: Hashable {
        var key: ClientQuotaKey
        var sensor: ClientQuotas.SensorKey
    }

    private struct State {
        var quotas = ClientQuotas()
        /// The keys some entity sets, worked out once per change rather than per request.
        var enforced: Set<ClientQuotaKey> = []
        var sensors: [SensorID: WindowedRate] = [:]
        var lastPurgeMs: Int64 = 0
    }

    /// `quota.window.num`.
    let sampleCount: Int
    /// `quota.window.size.seconds`, in milliseconds.
    let windowMs: Int64
    private let state = Mutex(State())

    /// - Parameters:
    ///   - sampleCount: `quota.window.num` (Kafka default 11).
    ///   - windowSeconds: `quota.window.size.seconds` (Kafka default 1).
    init(sampleCount: Int = 11, windowSeconds: Int = 1) {
        self.sampleCount = max(2, sampleCount)
        self.windowMs = Int64(max(1, windowSeconds)) * 1000
    }

    /// The settings in `config` (`quota.window.num`, `quota.window.size.seconds`).
    convenience init(config: BrokerConfig) {
        self.init(sampleCount: config.int("quota.window.num"), windowSeconds: config.int("quota.window.size.seconds"))
    }

    /// The longest throttle: the whole measurement span (`quota.window.num` × the window), after
    /// which every sample recorded before the throttle has expired.
    var maxThrottleMs: Int64 { Int64(sampleCount) * windowMs }

    /// Installs the quotas now in force (at start, and after each AlterClientQuotas).
    func replace(_ quotas: ClientQuotas) {
        let enforced = Set(ClientQuotaKey.allCases.filter { key in quotas.values.values.contains { $0[key.rawValue] != nil } })
        state.withLock {
            $0.quotas = quotas
            $0.enforced = enforced
        }
    }

    /// The quotas now in force.
    var quotas: ClientQuotas { state.withLock { $0.quotas } }

    /// Whether some entity sets `key` (so usage of that kind is worth measuring).
    func enforces(_ key: ClientQuotaKey) -> Bool {
        state.withLock { $0.enforced.contains(key) }
    }

    /// Adds `value` (bytes, or ``requestTimeValue(_:)``) to the client's sensor for `key` and
    /// returns how long to throttle it, 0 when it is within its quota or has none.
    /// - Parameter nowMs: milliseconds on a monotonic clock (``monotonicNowMs()`` by default).
    func record(_ key: ClientQuotaKey, user: String, clientID: String, value: Double,
                nowMs: Int64 = ClientQuotaManager.monotonicNowMs()) -> Int64 {
        state.withLock { state in
            guard let (quota, sensorKey) = state.quotas.quota(key, user: user, clientID: clientID) else { return 0 }
            purgeIdleSensors(&state, nowMs: nowMs)
            let id = SensorID(key: key, sensor: sensorKey)
            var rate = state.sensors[id] ?? WindowedRate(sampleCount: sampleCount, windowMs: windowMs)
            rate.record(value, nowMs: nowMs)
            state.sensors[id] = rate
            return min(rate.throttleMs(quota: quota, nowMs: nowMs), maxThrottleMs)
        }
    }

    /// Takes back a value recorded for a response that was not sent after all (a throttled fetch
    /// is answered empty, and its bytes are not counted; Kafka's `unrecordQuotaSensor`).
    func unrecord(_ key: ClientQuotaKey, user: String, clientID: String, value: Double,
                  nowMs: Int64 = ClientQuotaManager.monotonicNowMs()) {
        state.withLock { state in
            guard let (_, sensorKey) = state.quotas.quota(key, user: user, clientID: clientID) else { return }
            state.sensors[SensorID(key: key, sensor: sensorKey)]?.record(-value, nowMs: nowMs)
        }
    }

    /// The rate a client's sensor for `key` measures now, for tests and metrics; nil without one.
    func measuredRate(_ key: ClientQuotaKey, user: String, clientID: String,
                      nowMs: Int64 = ClientQuotaManager.monotonicNowMs()) -> Double? {
        state.withLock { state in
            guard let (_, sensorKey) = state.quotas.quota(key, user: user, clientID: clientID) else { return nil }
            return state.sensors[SensorID(key: key, sensor: sensorKey)]?.rate(nowMs: nowMs)
        }
    }

    /// Request time as `request_percentage` counts it: percent of one thread's second
    /// (Kafka's `nanosToPercentage`), so the rate is a percentage.
    static func requestTimeValue(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return (Double(seconds) + Double(attoseconds) / 1e18) * 100
    }

    /// Milliseconds on the monotonic clock: a wall-clock jump does not reset or inflate rates.
    static func monotonicNowMs() -> Int64 {
        let (seconds, attoseconds) = (ContinuousClock.now - epoch).components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    private static let epoch = ContinuousClock.now

    private func purgeIdleSensors(_ state: inout State, nowMs: Int64) {
        guard nowMs - state.lastPurgeMs >= maxThrottleMs else { return }
        state.lastPurgeMs = nowMs
        state.sensors = state.sensors.filter { !$0.value.isIdle(nowMs: nowMs) }
    }
}

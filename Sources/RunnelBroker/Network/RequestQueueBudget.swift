import Synchronization

/// The broker-wide bound on requests read but not yet answered: `queued.max.requests` and
/// `queued.max.request.bytes` (Kafka's request queue and its KIP-72 memory pool).
///
/// Every connection's ``RequestFlowHandler`` charges a request here when it passes the request on
/// and releases it once the response is written (or the connection closes). While the budget is
/// paused, no connection reads from its socket or passes on another request, so the bytes the
/// broker holds for requests stay bounded however many clients pipeline.
///
/// The bound has hysteresis: the budget pauses when either count reaches its limit and resumes
/// only when both are at or below half of it, so thousands of waiting connections are woken once
/// per drain rather than once per answered request. A request already read is always admitted,
/// so a single request larger than `queued.max.request.bytes` still gets through (as with Kafka's
/// memory pool, which lets the last allocation overshoot).
final class RequestQueueBudget: Sendable {
    /// What a connection waiting for room runs once the budget resumes (it hops to its own loop).
    typealias Waiter = @Sendable () -> Void

    private struct State {
        /// Requests read ahead: beyond the first a connection has in flight.
        var readAhead = 0
        var requests = 0
        var bytes = 0
        var paused = false
        var waiters: [Waiter] = []
    }

    /// `queued.max.requests`: most requests read and not yet answered, broker-wide.
    let maxRequests: Int
    /// `queued.max.request.bytes`: most bytes of such requests; nil is unbounded (Kafka's -1).
    let maxBytes: Int?
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxRequests: `queued.max.requests` (Kafka default 500); at least 1.
    ///   - maxBytes: `queued.max.request.bytes` in bytes; nil or a negative value is unbounded
    ///     (Kafka default -1).
    init(maxRequests: Int = 500, maxBytes: Int? = nil) {
        self.maxRequests = max(1, maxRequests)
        self.maxBytes = maxBytes.flatMap { $0 < 0 ? nil : $0 }
    }

    /// The limits in `config` (`queued.max.requests`, `queued.max.request.bytes`).
    convenience init(config: BrokerConfig) {
        self.init(maxRequests: config.int("queued.max.requests"), maxBytes: config.int("queued.max.request.bytes"))
    }

    /// Whether a connection may pass on another request now. When not, `waiter` is kept and run
    /// once the budget resumes; the caller then asks again.
    func admits(orWait waiter: @escaping Waiter) -> Bool {
        state.withLock { state in
            guard state.paused else { return true }
            state.waiters.append(waiter)
            return false
        }
    }

    /// Whether a connection that already has a request in flight may read one more ahead: only
    /// while read-ahead requests fill less than half of `queued.max.requests`, so every
    /// connection's first request always finds room (with many clients pipelining, one that does
    /// not would otherwise wait behind all of their read-ahead, or find the broker paused).
    func admitsReadAhead() -> Bool {
        state.withLock { !$0.paused && $0.readAhead < maxRequests / 2 }
    }

    /// Counts `count` requests read ahead (``charge(requests:bytes:)`` counts them as requests
    /// too), or counts them again once their client reads its responses.
    func chargeReadAhead(_ count: Int = 1) {
        guard count > 0 else { return }
        state.withLock { $0.readAhead += count }
    }

    /// Uncounts `count` requests read ahead: now their connection's oldest in flight, gone, or
    /// behind a client that does not read its responses.
    func releaseReadAhead(_ count: Int = 1) {
        guard count > 0 else { return }
        state.withLock { state in
            precondition(state.readAhead >= count, "RequestQueueBudget: releasing \(count) read-ahead requests, only \(state.readAhead) counted")
            state.readAhead -= count
        }
    }

    /// Counts `requests` requests (one passed on, or parked ones counted again) and `bytes` bytes.
    func charge(requests: Int = 1, bytes: Int) {
        state.withLock { state in
            state.requests += requests
            state.bytes += bytes
            if state.requests >= maxRequests || maxBytes.map({ state.bytes >= $0 }) == true { state.paused = true }
        }
    }

    /// Uncounts `requests` requests and `bytes` bytes (handled, dropped with their connection,
    /// or parked behind a client that does not read), and wakes the waiting connections when this
    /// resumes the budget.
    func release(requests: Int = 1, bytes: Int) {
        guard requests > 0 || bytes > 0 else { return }
        let woken: [Waiter] = state.withLock { state in
            precondition(state.requests >= requests && state.bytes >= bytes,
                         "RequestQueueBudget: releasing \(requests) requests of \(bytes) bytes, only \(state.requests) of \(state.bytes) counted")
            state.requests -= requests
            state.bytes -= bytes
            guard state.paused, state.requests <= maxRequests / 2, maxBytes.map({ state.bytes <= $0 / 2 }) ?? true else { return [] }
            state.paused = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in woken { waiter() }
    }

    /// `runnel_request_queue_requests`, `_bytes` and `_paused` (1 while no socket is read), for
    /// the metrics scrape: Kafka's `RequestQueueSize` and memory-pool gauges.
    var stateGauges: [(name: String, labels: [(String, String)], value: Double)] {
        let (requests, bytes, paused) = usage
        return [("runnel_request_queue_requests", [], Double(requests)), ("runnel_request_queue_bytes", [], Double(bytes)),
                ("runnel_request_queue_paused", [], paused ? 1 : 0)]
    }

    /// Requests and bytes counted now, and whether connections are paused.
    var usage: (requests: Int, bytes: Int, paused: Bool) {
        state.withLock { ($0.requests, $0.bytes, $0.paused) }
    }
}

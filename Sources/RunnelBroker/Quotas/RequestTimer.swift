import Synchronization

/// The time a request spends being handled, less the time it is parked waiting for something
/// other than this broker's work (a long-poll Fetch waiting for data, a JoinGroup waiting for the
/// rebalance): what a `request_percentage` quota (KIP-124) counts, as Kafka counts I/O-thread time
/// and not purgatory time.
///
/// The router starts one per request and binds it as ``current`` for the handler's task; code that
/// parks wraps the wait in ``parked(_:)``. A parked request also leaves its client address's fair
/// share (``SourceAddressFairness``) for the wait, through the timer's `onParked`.
final class RequestTimer: Sendable {
    @TaskLocal static var current: RequestTimer?

    private let started = ContinuousClock.now
    private let parkedTime = Mutex(Duration.zero)
    private let onParked: (@Sendable (_ parked: Bool) -> Void)?

    /// - Parameter onParked: told `true` as a wait in ``parked(_:)`` starts and `false` as it ends.
    init(onParked: (@Sendable (_ parked: Bool) -> Void)? = nil) {
        self.onParked = onParked
    }

    /// Runs `wait` and leaves its duration out of the request's time.
    static func parked<T>(_ wait: () async throws -> T) async rethrows -> T {
        guard let timer = current else { return try await wait() }
        let start = ContinuousClock.now
        timer.onParked?(true)
        defer {
            timer.onParked?(false)
            timer.parkedTime.withLock { $0 += ContinuousClock.now - start }
        }
        return try await wait()
    }

    /// Time since the start, less the time parked.
    var busyTime: Duration {
        let parked = parkedTime.withLock { $0 }
        return max(.zero, ContinuousClock.now - started - parked)
    }
}

import NIOCore
import Synchronization

/// When a connection counts as idle under `connections.max.idle.ms`: no request for that long.
///
/// Idle time runs from the accept and from the end of each request (its response written, or
/// handled when it has none); a request in flight (a held JoinGroup, a long-poll Fetch) keeps the
/// connection busy however long it takes, so only a client that sends nothing is closed. Bytes of
/// a request not yet complete do not count as activity: a client that trickles a frame in slower
/// than the timeout is closed as well.
struct IdleState {
    /// What the watcher does next.
    enum Check: Equatable {
        /// The connection has been idle for the whole timeout.
        case close
        /// Look again at this instant.
        case wait(until: ContinuousClock.Instant)
    }

    private(set) var requestInFlight = false
    private(set) var lastActivity: ContinuousClock.Instant

    init(now: ContinuousClock.Instant) {
        lastActivity = now
    }

    mutating func requestStarted() {
        requestInFlight = true
    }

    mutating func requestFinished(now: ContinuousClock.Instant) {
        requestInFlight = false
        lastActivity = now
    }

    /// Whether a connection idle for up to `timeout` is due to close at `now`.
    func check(now: ContinuousClock.Instant, timeout: Duration) -> Check {
        if requestInFlight { return .wait(until: now + timeout) }
        let expiry = lastActivity + timeout
        return now >= expiry ? .close : .wait(until: expiry)
    }
}

/// Closes one connection when it has been idle for `connections.max.idle.ms` (Kafka's
/// `Selector.IdleExpiryManager`). The connection's handler reports each request's start and end;
/// ``watch(_:)`` runs beside it in the same task group and sleeps until the next possible expiry.
final class IdleConnectionWatcher: Sendable {
    /// `connections.max.idle.ms`.
    let timeout: Duration
    private let state: Mutex<IdleState>

    /// - Parameter timeout: idle time after which the connection closes.
    init(timeout: Duration, now: ContinuousClock.Instant = .now) {
        self.timeout = timeout
        self.state = Mutex(IdleState(now: now))
    }

    /// The `connections.max.idle.ms` value as a timeout; nil (never close) when negative, as
    /// Kafka's selector treats a negative value.
    static func timeout(milliseconds: Int) -> Duration? {
        milliseconds < 0 ? nil : .milliseconds(milliseconds)
    }

    func requestStarted() {
        state.withLock { $0.requestStarted() }
    }

    func requestFinished() {
        state.withLock { $0.requestFinished(now: .now) }
    }

    /// Sleeps until the connection has been idle for ``timeout``, then closes `channel`.
    /// - Returns: true when it closed the channel; false when cancelled first (the connection
    ///   ended on its own).
    func watch(_ channel: any Channel) async -> Bool {
        while true {
            switch state.withLock({ $0.check(now: .now, timeout: timeout) }) {
            case .close:
                channel.close(promise: nil)
                return true
            case .wait(let until):
                do {
                    try await Task.sleep(until: until, clock: .continuous)
                } catch {
                    return false
                }
            }
        }
    }
}

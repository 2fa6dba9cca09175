import Synchronization

/// Holds client connections until the broker may serve them: a cluster broker answers clients
/// only once the active controller has unfenced it, i.e. once it has applied the metadata log up
/// to its own registration (Kafka's brokers start request processing after the same initial
/// catch-up). Before that a restarted broker would answer Metadata with missing topics.
///
/// Waiters return when the gate opens or when their task is cancelled.
final class ReadinessGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    init(open: Bool = false) {
        state = Mutex(State(isOpen: open))
    }

    var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Suspends until the gate is open (or the task is cancelled).
    func wait() async {
        let id: Int? = state.withLock { s in
            if s.isOpen { return nil }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.isOpen || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Opens the gate for good and releases every waiter.
    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.isOpen = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }
}

import Synchronization

/// A one-shot wake-up used by long-polling fetches (the fetch purgatory): a fetch registers one
/// signal with every partition it reads, and the first append to any of them fires it.
final class AppendSignal: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        case fired
    }

    private let state = Mutex<State>(.idle)

    /// Wakes the waiter, now or when it starts waiting.
    func fire() {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            switch state {
            case .idle: state = .fired; return nil
            case .waiting(let c): state = .fired; return c
            case .fired: return nil
            }
        }
        continuation?.resume()
    }

    /// Suspends until ``fire()`` is called or the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    switch state {
                    case .idle: state = .waiting(continuation); return false
                    case .waiting: return true  // only one waiter is supported; don't hang
                    case .fired: return true
                    }
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }

    /// Waits until fired or `timeout` passes, whichever is first.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}

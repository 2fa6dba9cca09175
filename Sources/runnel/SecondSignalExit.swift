import Dispatch
import Foundation
import Logging
import Synchronization

/// The first SIGTERM or SIGINT starts a graceful shutdown (swift-service-lifecycle); a second one
/// while it runs exits at once with status 1, skipping checkpoints and the clean-shutdown marker
/// (the next start recovers the logs after their recovery points, as after a crash).
final class SecondSignalExit {
    private final class Count: Sendable {
        let value = Mutex(0)
    }

    private let sources: [any DispatchSourceSignal]

    init(logger: Logger) {
        let queue = DispatchQueue(label: "runnel.signals")
        var sources: [any DispatchSourceSignal] = []
        let received = Count()
        for sig in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                // Signals sent while one is still pending coalesce into one delivery.
                let count = received.value.withLock { value -> Int in
                    value += 1
                    return value
                }
                if count >= 2 {
                    logger.critical("second shutdown signal: exiting now without a clean shutdown; the next start recovers the logs")
                    exit(1)
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() { for s in sources { s.cancel() } }
}

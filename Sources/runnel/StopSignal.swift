import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into a flag that long-running client commands (consume, perf) check
/// between polls, so they flush their output, commit and leave their group before exiting.
/// A second signal exits at once with status 130.
final class StopSignal {
    private final class Flag: Sendable {
        let count = Atomic<Int>(0)
    }

    private let flag = Flag()
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let flag = self.flag
            source.setEventHandler {
                if flag.count.add(1, ordering: .relaxed).newValue >= 2 { exit(130) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a stop was asked for.
    var isSet: Bool { flag.count.load(ordering: .relaxed) > 0 }
}

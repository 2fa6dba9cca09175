import LogStorage
import Synchronization

/// Starts the kernel's writeback of a partition's active segment every ``intervalBytes`` appended
/// (``SegmentSyncHandle/startWriteback()``, on ``LogFlushPool``), so the page cache writes a
/// busy partition's bytes out steadily.
///
/// Without it, dirty pages accumulate until the kernel's background threshold (10% of memory by
/// default) and are then written in bursts during which `write(2)` calls stall: with one 1 KiB
/// producer at 257k records/s, end-to-end p99 was 533 ms on disk and 19 ms with the log on tmpfs
/// (Benchmarks/e2e row 8, docs/benchmarks.md). Kafka leaves this to the kernel; Runnel starts it
/// early. Durability is unchanged: acknowledgement still follows `flush.*` and
/// `runnel.flush.on.ack`.
final class PartitionWriteback: Sendable {
    /// Bytes appended between writeback starts.
    static let intervalBytes = 4 * 1024 * 1024

    /// Whether a start is queued or running: at most one per partition, so a slow device cannot
    /// pile jobs up in the pool.
    private let running = Atomic<Bool>(false)
    private let unstarted = Mutex<Int>(0)
    private let runner: LogFlusher.Runner

    /// - Parameter runner: where writeback starts run (they may block); never an event loop.
    init(runner: @escaping LogFlusher.Runner = LogFlushPool.runner) {
        self.runner = runner
    }

    /// Counts `bytes` appended behind `handle`; every ``intervalBytes`` starts a writeback of
    /// the segment unless one is still running.
    /// - Parameter handle: the active segment's descriptor; called only when a start is due.
    func appended(bytes: Int, handle: () throws -> SegmentSyncHandle) {
        let due = unstarted.withLock { count -> Bool in
            count += bytes
            guard count >= Self.intervalBytes else { return false }
            count = 0
            return true
        }
        guard due, running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        guard let segment = try? handle() else {
            running.store(false, ordering: .releasing)
            return
        }
        runner { [self] in
            segment.startWriteback()
            running.store(false, ordering: .releasing)
        }
    }
}

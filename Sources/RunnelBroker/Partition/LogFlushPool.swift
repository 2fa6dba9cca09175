import LogStorage
import NIOPosix

/// The threads partition log syncs run on (``LogFlusher``): a `NIOThreadPool` of its own, so a
/// long cleaning or scrubbing job on `NIOThreadPool.singleton` never holds a produce's sync back,
/// and no `fdatasync` ever runs on an event loop or a partition actor.
///
/// Four threads: each log runs at most one sync at a time, so this bounds how many partitions sync
/// concurrently (file systems batch concurrent syncs into one journal commit; more threads rarely
/// help a single device). Started on first use and kept for the life of the process, shared by
/// every broker in it.
enum LogFlushPool {
    /// Threads in the pool.
    static let threadCount = 4

    static let shared: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    /// A ``LogFlusher/Runner`` that submits each sync to the pool. A job the pool hands back as
    /// cancelled still runs, so no waiting produce is ever left behind.
    static let runner: LogFlusher.Runner = { job in
        shared.submit { _ in job() }
    }
}

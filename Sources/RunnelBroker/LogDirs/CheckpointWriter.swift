import LogStorage
import NIOPosix
import Synchronization
import SystemPackage

/// Writes one log directory's offset checkpoint files (``OffsetCheckpointFile``) on a thread pool,
/// never on the Swift concurrency pool or an actor.
///
/// Each file is written atomically: a temporary file, its fsync, a rename and an fsync of the
/// directory. Under a steady produce load those fsyncs took 0.1-0.45 s each here (they wait for
/// the disk's queue), and written from the controller actor they held up every request that
/// needed the actor meanwhile, once every `replica.high.watermark.checkpoint.interval.ms`: that
/// was the ~0.5 s end-to-end latency spike every 5 s in benchmark row 8. Kafka writes its
/// checkpoints from its scheduler thread for the same reason.
///
/// Writes are ordered by the ticket taken when their snapshot was made (``ticket()``, called on
/// the snapshot's actor right after reading the offsets): a write of an older snapshot that runs
/// after a newer one's is skipped, so a checkpoint file never goes back in time. One directory's
/// writes run one at a time, so two never share the temporary file.
final class CheckpointWriter: Sendable {
    /// Runs a blocking job away from the concurrency pool and returns once it has finished.
    typealias Runner = @Sendable (@escaping @Sendable () throws -> Void) async throws -> Void

    /// One file of a write: its name in the directory and what it lists.
    struct File: Sendable {
        var name: String
        var entries: [OffsetCheckpointFile.Entry]
    }

    private struct Written {
        /// Per file name, the ticket of the snapshot it holds now.
        var tickets: [String: UInt64] = [:]
    }

    private let directory: FilePath
    private let runner: Runner
    /// The last ticket handed out.
    private let issued = Atomic<UInt64>(0)
    /// Held by the pool thread for a whole write (the file I/O included), never by an actor.
    private let written = Mutex(Written())

    /// - Parameters:
    ///   - directory: the log directory the files are written in.
    ///   - runner: where the writes run; by default `NIOThreadPool.singleton`.
    init(directory: FilePath, runner: @escaping Runner = CheckpointWriter.threadPool) {
        self.directory = directory
        self.runner = runner
    }

    /// A write's place in order; take it right after reading the offsets the write will list.
    func ticket() -> UInt64 {
        issued.add(1, ordering: .relaxed).newValue
    }

    /// Writes `files` unless a snapshot newer than `ticket` is already in them (each file is
    /// checked on its own), and returns once they are durable.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` from the first file that failed (the
    ///   files after it are not written).
    func write(_ files: [File], ticket: UInt64) async throws {
        let directory = self.directory
        try await runner { [self] in
            try self.written.withLock { written in
                for file in files where written.tickets[file.name, default: 0] < ticket {
                    try OffsetCheckpointFile.write(file.entries, directory: directory, name: file.name)
                    written.tickets[file.name] = ticket
                }
            }
        }
    }

    /// Runs each write on `NIOThreadPool.singleton`, whether or not the calling task is
    /// cancelled: the checkpoints at shutdown are written from a cancelled task, and
    /// `runIfActive` would give up on them.
    static let threadPool: Runner = { job in
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            NIOThreadPool.singleton.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: NIOThreadPoolError.ThreadPoolInactive())
                    return
                }
                continuation.resume(with: Result { try job() })
            }
        }
    }
}

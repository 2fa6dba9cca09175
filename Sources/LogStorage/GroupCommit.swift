import KafkaProtocol

/// Why a wait for durability ended without it.
public enum LogFlushError: Error, Sendable, CustomStringConvertible {
    /// `fdatasync` failed: the log's directory goes offline. KAFKA_STORAGE_ERROR.
    case syncFailed(StorageError)
    /// The log was closed (shutdown, partition moved or deleted) before the bytes were synced.
    /// NOT_LEADER_OR_FOLLOWER: the client refreshes its metadata and retries.
    case closed
    /// The bytes were truncated away (this replica became a follower). NOT_LEADER_OR_FOLLOWER.
    case truncated

    /// The Kafka error a produce waiting for durability answers with.
    public var errorCode: ErrorCode {
        switch self {
        case .syncFailed: return .kafkaStorageError
        case .closed, .truncated: return .notLeaderOrFollower
        }
    }

    public var description: String {
        switch self {
        case .syncFailed(let error): return "syncing the log failed: \(error)"
        case .closed: return "the log was closed before the append was synced"
        case .truncated: return "the append was truncated away before it was synced"
        }
    }
}

/// The rules of one log's group commit, with no I/O and no clock: appends and waits come in,
/// the syncs to start and the waiters to complete come out. ``LogFlusher`` does the I/O.
///
/// Offsets are exclusive ends: `flushedOffset` is the *log flushed offset*, every offset below it
/// is durable; a waiter needs `flushedOffset >= offset` (the offset after its batch's last record).
///
/// At most one sync runs at a time. A sync covers the log as it was when the sync started
/// (``appendedOffset`` then, its `target`); every append that arrives while it runs waits for the
/// next one, which starts as soon as the running one ends and covers all of them. So N producers
/// appending while one sync runs share the next sync: the number of syncs is bounded by the
/// number of sync durations in the run, not by the number of produces.
///
/// A truncation (a follower cutting back to its leader) lowers both offsets and bumps the
/// `generation`: a sync that started before it says nothing about the bytes written after it, so
/// its completion moves nothing. Waiters above the truncation point are failed (their bytes are
/// gone). A failed sync fails every waiter and every later wait: after a failed `fdatasync` the
/// kernel may already have dropped the dirty pages, so no later sync can prove them durable.
public struct GroupCommitState: Sendable {
    /// One sync to run: make the log durable up to `target` (exclusive).
    public struct Sync: Sendable, Equatable {
        public var target: Int64
        public var generation: UInt64
    }

    /// A produce waiting for the log flushed offset to reach `offset`.
    public struct Waiter: Sendable, Equatable {
        public var id: UInt64
        public var offset: Int64
    }

    /// What ``wait(id:offset:)`` decided.
    public enum WaitDecision: Sendable {
        /// Already durable: answer now.
        case durable
        /// A sync failed earlier: answer with this error now.
        case failed(LogFlushError)
        /// Registered; start `sync` if not nil.
        case waiting(start: Sync?)
    }

    /// What the end of a sync decided.
    public struct Completion: Sendable, Equatable {
        /// Waiters now durable, in registration order.
        public var completed: [UInt64] = []
        /// The next sync to start, covering the appends that arrived meanwhile.
        public var next: Sync?
    }

    /// The log end offset as last reported.
    public private(set) var appendedOffset: Int64
    /// The log flushed offset: every offset below it is durable.
    public private(set) var flushedOffset: Int64
    /// The sync in flight, if any.
    public private(set) var running: Sync?
    /// Why syncing stopped for good, if it did.
    public private(set) var failure: LogFlushError?
    /// Registered waiters, oldest first.
    public private(set) var waiters: [Waiter] = []
    /// Bumped by every truncation: a sync (or a roll) from before one says nothing about the log
    /// after it.
    public private(set) var generation: UInt64 = 0
    /// A background sync was asked for (flush.messages, flush.ms, a follower's append).
    private var backgroundRequested = false
    /// The last sync was abandoned: no sync starts until the next append.
    private var abandoned = false

    /// - Parameter durableOffset: the log end offset at open (recovery and clean shutdown both
    ///   leave the whole log synced).
    public init(durableOffset: Int64) {
        appendedOffset = durableOffset
        flushedOffset = durableOffset
    }

    /// Offsets appended and not yet durable (Kafka's `unflushedMessages`).
    public var unflushedOffsets: Int64 { max(0, appendedOffset - flushedOffset) }

    /// The log end moved to `logEndOffset` (the bytes are written, not yet synced).
    /// - Returns: a sync to start when waiters are left without one (after ``syncAbandoned(_:)``);
    ///   nil otherwise, the usual case.
    public mutating func appended(through logEndOffset: Int64) -> Sync? {
        appendedOffset = max(appendedOffset, logEndOffset)
        abandoned = false
        return maybeStart()
    }

    /// A produce wants `offset` durable.
    public mutating func wait(id: UInt64, offset: Int64) -> WaitDecision {
        if let failure { return .failed(failure) }
        if offset <= flushedOffset { return .durable }
        waiters.append(Waiter(id: id, offset: offset))
        return .waiting(start: maybeStart())
    }

    /// Asks for a sync nobody waits for (Kafka's background flush); nil when one is running (the
    /// request is kept for when it ends) or nothing is unsynced.
    public mutating func requestBackgroundSync() -> Sync? {
        guard failure == nil, appendedOffset > flushedOffset else { return nil }
        backgroundRequested = true
        return maybeStart()
    }

    /// `sync` finished without error.
    public mutating func syncSucceeded(_ sync: Sync) -> Completion {
        precondition(running == sync, "group commit: sync \(sync) ended but \(String(describing: running)) was running")
        running = nil
        if sync.generation == generation { flushedOffset = max(flushedOffset, min(sync.target, appendedOffset)) }
        var completion = Completion()
        let flushed = flushedOffset
        completion.completed = takeWaiters { $0.offset <= flushed }
        completion.next = maybeStart()
        return completion
    }

    /// `sync` failed: every waiter fails with `error`, now and later (``LogFlushError/syncFailed(_:)``).
    /// - Returns: the failed waiters.
    public mutating func syncFailed(_ sync: Sync, error: LogFlushError) -> [UInt64] {
        precondition(running == sync, "group commit: sync \(sync) failed but \(String(describing: running)) was running")
        running = nil
        return stop(error)
    }

    /// `sync` could not run (the log had no file to sync yet): nothing moves, and the next
    /// append starts the sync the waiters need.
    public mutating func syncAbandoned(_ sync: Sync) {
        precondition(running == sync, "group commit: sync \(sync) abandoned but \(String(describing: running)) was running")
        running = nil
        abandoned = true
    }

    /// Stops for good (the log is closing or its directory went offline): every waiter fails.
    /// - Returns: the failed waiters.
    public mutating func stop(_ error: LogFlushError) -> [UInt64] {
        if failure == nil { failure = error }
        return takeWaiters { _ in true }
    }

    /// Something else made the log durable up to `offset` (a synchronous flush at close).
    /// - Returns: the waiters now durable.
    public mutating func noteDurable(through offset: Int64) -> [UInt64] {
        flushedOffset = max(flushedOffset, min(offset, appendedOffset))
        let flushed = flushedOffset
        return takeWaiters { $0.offset <= flushed }
    }

    /// The log was cut back to `logEndOffset`.
    /// - Returns: the waiters whose bytes are gone.
    public mutating func truncated(to logEndOffset: Int64) -> [UInt64] {
        generation &+= 1
        appendedOffset = logEndOffset
        flushedOffset = min(flushedOffset, logEndOffset)
        return takeWaiters { $0.offset > logEndOffset }
    }

    /// Whether `id` is still waiting.
    public func isWaiting(_ id: UInt64) -> Bool { waiters.contains { $0.id == id } }

    private mutating func maybeStart() -> Sync? {
        guard running == nil, failure == nil, !abandoned, appendedOffset > flushedOffset,
              backgroundRequested || waiters.contains(where: { $0.offset > flushedOffset }) else { return nil }
        backgroundRequested = false
        let sync = Sync(target: appendedOffset, generation: generation)
        running = sync
        return sync
    }

    private mutating func takeWaiters(where matches: (Waiter) -> Bool) -> [UInt64] {
        var taken: [UInt64] = []
        waiters.removeAll { waiter in
            guard matches(waiter) else { return false }
            taken.append(waiter.id)
            return true
        }
        return taken
    }
}

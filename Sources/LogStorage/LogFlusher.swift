#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Syncs one partition's log off its owner's thread: Kafka's background flushes (`flush.messages`,
/// `flush.ms`) and Runnel's durable acknowledgement (`runnel.flush.on.ack`), both through one
/// group commit (``GroupCommitState``).
///
/// The log's owner reports every append (``appended(through:handle:)``), which is cheap and never
/// blocks. Syncs (`fdatasync` of the active segment's `.log`) run through the injected ``Runner``,
/// a thread pool in the broker, never an event loop or the owner. A produce that needs its bytes
/// durable calls ``waitUntilFlushed(through:)`` and is resumed by the sync that covers it; every
/// produce appended while one sync runs is covered by the next, so concurrent producers share one
/// `fdatasync` between them.
///
/// Only the `.log` file is synced per acknowledgement. The offset and time indexes are not: after
/// an unclean shutdown, recovery scans every segment from the one holding the checkpointed
/// recovery point to the end batch by batch and rebuilds their indexes (`Log.init`); the recovery
/// point is never past the active segment (a roll moves it to the new segment's base, a full
/// flush to the log end), so the active segment is always scanned and its indexes rebuilt from
/// its synced `.log`. A roll fsyncs the
/// old segment (log and indexes) before the new one takes appends (``Log/roll()``).
///
/// A failed sync stops the flusher for good and takes the log directory offline
/// (``LogDirectoryHealth/markOffline(reason:)``), whatever the errno: after a failed `fdatasync`
/// Linux may have dropped the dirty pages and cleared the error, so a later sync that succeeds
/// proves nothing about them. Every waiting produce answers KAFKA_STORAGE_ERROR.
///
/// Thread-safe: all state sits behind one mutex, held only for bookkeeping, never across a sync.
public final class LogFlusher: Sendable {
    /// The settings of one log that decide when it is synced.
    public struct Policy: Sendable, Equatable {
        /// `flush.messages`: start a background sync once this many offsets are unsynced.
        public var flushIntervalMessages: Int64
        /// `flush.ms`: start a background sync (from ``flushIfDue(nowMs:)``) once the last one
        /// ended this many milliseconds ago and something is unsynced.
        public var flushIntervalMs: Int64
        /// `runnel.flush.on.ack`: produce responses wait for ``waitUntilFlushed(through:)``.
        public var flushOnAck: Bool

        public init(flushIntervalMessages: Int64 = .max, flushIntervalMs: Int64 = .max, flushOnAck: Bool = false) {
            self.flushIntervalMessages = flushIntervalMessages
            self.flushIntervalMs = flushIntervalMs
            self.flushOnAck = flushOnAck
        }

        /// The policy a log's configuration asks for.
        public init(_ config: LogConfig) {
            self.init(flushIntervalMessages: config.flushIntervalMessages, flushIntervalMs: config.flushIntervalMs,
                      flushOnAck: config.flushOnAck)
        }
    }

    /// Runs a blocking job on some thread that is not an event loop (the broker passes a
    /// `NIOThreadPool`; tests run jobs by hand).
    public typealias Runner = @Sendable (@escaping @Sendable () -> Void) -> Void

    /// One finished sync, for metrics.
    public struct SyncReport: Sendable {
        /// How long `fdatasync` took.
        public var duration: Duration
        /// Whether it failed.
        public var failed: Bool
        /// Produces it answered.
        public var completedWaiters: Int
    }

    private struct Inner {
        var state: GroupCommitState
        /// The active segment as of `state.appendedOffset`.
        var handle: SegmentSyncHandle?
        var continuations: [UInt64: CheckedContinuation<LogFlushError?, Never>] = [:]
        var nextID: UInt64 = 0
        var policy: Policy
        /// Monotonic milliseconds when the last sync ended (or the flusher started).
        var lastSyncEndMs: Int64
        /// Rolls whose fsyncs wait for the next sync, oldest first, each with the truncation
        /// generation (``GroupCommitState/generation``) it was made in.
        var rolled: [(RolledSegmentSync, generation: UInt64)] = []
        /// The next base offsets of rolls synced and not yet taken by the owner
        /// (``takeSyncedRolls()``); the rolls themselves, and their descriptors, are let go.
        var syncedRolls: [(nextBaseOffset: Int64, generation: UInt64)] = []
    }

    private typealias Start = (sync: GroupCommitState.Sync, handle: SegmentSyncHandle?)

    private let inner: Mutex<Inner>
    /// Held by the thread syncing rolls (``syncRolls()``), never while `inner` is held.
    private let rollSyncing = Mutex<Void>(())
    private let runner: Runner
    private let directoryHealth: LogDirectoryHealth?
    private let onSync: @Sendable (SyncReport) -> Void
    private let clockMs: @Sendable () -> Int64

    /// - Parameters:
    ///   - durableOffset: the log end offset when the log was opened (the whole log is synced then).
    ///   - policy: when to sync; ``update(policy:)`` changes it.
    ///   - runner: where syncs run; never an event loop.
    ///   - directoryHealth: taken offline by a failed sync; nil in tools and tests.
    ///   - clockMs: monotonic milliseconds for `flush.ms`.
    ///   - onSync: told about every finished sync (metrics), on the runner's thread.
    public init(durableOffset: Int64, policy: Policy, runner: @escaping Runner, directoryHealth: LogDirectoryHealth? = nil,
                clockMs: @escaping @Sendable () -> Int64 = LogFlusher.monotonicMs,
                onSync: @escaping @Sendable (SyncReport) -> Void = { _ in }) {
        self.runner = runner
        self.directoryHealth = directoryHealth
        self.clockMs = clockMs
        self.onSync = onSync
        self.inner = Mutex(Inner(state: GroupCommitState(durableOffset: durableOffset), policy: policy, lastSyncEndMs: clockMs()))
    }

    /// The log flushed offset: every offset below it is durable.
    public var flushedOffset: Int64 { inner.withLock { $0.state.flushedOffset } }

    /// Produces waiting for a sync (tests and diagnostics).
    var waitingCount: Int { inner.withLock { $0.continuations.count } }

    /// The current policy.
    public var policy: Policy { inner.withLock { $0.policy } }

    /// Applies a changed configuration (AlterConfigs) to later appends and waits.
    public func update(policy: Policy) { inner.withLock { $0.policy = policy } }

    /// The log end moved to `logEndOffset`, its bytes in the active segment behind `handle`.
    /// Starts a background sync when `flush.messages` offsets are unsynced.
    /// - Parameter handle: the active segment; nil when the policy syncs nothing (no descriptor is
    ///   duplicated then). A sync that finds no handle is abandoned until an append brings one.
    public func appended(through logEndOffset: Int64, handle: SegmentSyncHandle?) {
        let start = inner.withLock { inner -> Start? in
            inner.handle = handle
            if let resumed = inner.state.appended(through: logEndOffset) { return (resumed, handle) }
            guard inner.state.unflushedOffsets >= inner.policy.flushIntervalMessages else { return nil }
            return inner.state.requestBackgroundSync().map { ($0, handle) }
        }
        if let start { run(start) }
    }

    /// A roll left its fsyncs to this flusher (``Log/takeRolledSegmentSyncs()``). Call it before
    /// ``appended(through:handle:)`` reports the appends after the roll: every sync runs the
    /// pending rolls' fsyncs before its own, so no offset above a rolled segment is reported
    /// durable before the segment is. Starts a sync now if none is running (a background one,
    /// whatever the flush policy), so the rolled segment is written out soon.
    public func rolled(_ segments: [RolledSegmentSync]) {
        guard !segments.isEmpty else { return }
        let (start, alone) = inner.withLock { inner -> (Start?, Bool) in
            inner.rolled += segments.map { ($0, inner.state.generation) }
            if let sync = inner.state.requestBackgroundSync() { return ((sync, inner.handle), false) }
            // Every offset appended is durable already, or a sync is running (its end starts the
            // one that runs these): only the first case needs a run of the rolls alone.
            return (nil, inner.state.running == nil && inner.state.failure == nil)
        }
        if let start { run(start) }
        if alone { runner { [self] in _ = self.syncRolls() } }
    }

    /// Runs the pending rolls' fsyncs now, on the caller's thread (a partition closing or flushing
    /// everything: ``Log/flush()`` only syncs the segments it still has open).
    /// - Throws: ``StorageError`` when one failed (the flusher has stopped then).
    public func syncPendingRolls() throws(StorageError) {
        if let failure = syncRolls() { throw failure }
    }

    /// The next base offsets of the deferred rolls whose fsyncs have run since the last call,
    /// oldest first, for the owner to move its recovery point (``Log/rolledSegmentSynced(through:)``).
    /// Rolls made before a truncation are left out: the log they describe is gone.
    public func takeSyncedRolls() -> [Int64] {
        inner.withLock { inner in
            defer { inner.syncedRolls.removeAll() }
            return inner.syncedRolls.filter { $0.generation == inner.state.generation }.map(\.nextBaseOffset)
        }
    }

    /// Suspends until every offset below `offset` is durable.
    /// - Parameter offset: the offset after the last record that must be durable.
    /// - Throws: ``LogFlushError`` when a sync failed (now or earlier), the log was closed, or the
    ///   offsets were truncated away first.
    public func waitUntilFlushed(through offset: Int64) async throws(LogFlushError) {
        let error: LogFlushError? = await withCheckedContinuation { continuation in
            let (decision, handle) = inner.withLock { inner -> (GroupCommitState.WaitDecision, SegmentSyncHandle?) in
                let id = inner.nextID
                inner.nextID &+= 1
                let decision = inner.state.wait(id: id, offset: offset)
                if case .waiting = decision { inner.continuations[id] = continuation }
                return (decision, inner.handle)
            }
            switch decision {
            case .durable: continuation.resume(returning: nil)
            case .failed(let error): continuation.resume(returning: error)
            case .waiting(let start): if let start { run((start, handle)) }
            }
        }
        if let error { throw error }
    }

    /// Starts a sync nobody waits for, if anything is unsynced (a follower's append with
    /// `runnel.flush.on.ack`).
    public func requestSync() {
        let start = inner.withLock { inner -> Start? in
            inner.state.requestBackgroundSync().map { ($0, inner.handle) }
        }
        if let start { run(start) }
    }

    /// `flush.ms`: starts a background sync when the last one ended at least `flush.ms` ago and
    /// something is unsynced (Kafka's `LogManager.flushDirtyLogs`). Called by the broker every
    /// `log.flush.scheduler.interval.ms`.
    public func flushIfDue(nowMs: Int64) {
        let start = inner.withLock { inner -> Start? in
            guard inner.policy.flushIntervalMs != .max, nowMs - inner.lastSyncEndMs >= inner.policy.flushIntervalMs else { return nil }
            return inner.state.requestBackgroundSync().map { ($0, inner.handle) }
        }
        if let start { run(start) }
    }

    /// The log was cut back to `logEndOffset` (a follower truncating to its leader); produces
    /// waiting for offsets past it answer ``LogFlushError/truncated``.
    /// - Parameter handle: the active segment after the truncation (nil if it could not be opened;
    ///   the next append supplies it).
    public func truncated(to logEndOffset: Int64, handle: SegmentSyncHandle?) {
        let continuations = inner.withLock { inner in
            let ids = inner.state.truncated(to: logEndOffset)
            inner.handle = handle
            return ids.compactMap { inner.continuations.removeValue(forKey: $0) }
        }
        for continuation in continuations { continuation.resume(returning: .truncated) }
    }

    /// The log is closing: produces waiting for offsets below `durableThrough` (what the closing
    /// flush synced, nil if it failed) are answered, the others fail with ``LogFlushError/closed``,
    /// and so does every later wait.
    public func close(durableThrough: Int64?) {
        let (done, failed) = inner.withLock { inner in
            let durable = durableThrough.map { inner.state.noteDurable(through: $0) } ?? []
            let stopped = inner.state.stop(.closed)
            return (durable.compactMap { inner.continuations.removeValue(forKey: $0) },
                    stopped.compactMap { inner.continuations.removeValue(forKey: $0) })
        }
        for continuation in done { continuation.resume(returning: nil) }
        for continuation in failed { continuation.resume(returning: .closed) }
    }

    private func run(_ start: Start) {
        runner { [self] in self.sync(start) }
    }

    /// Runs on the runner's thread: the pending rolls' fsyncs (``syncRolls()``) and whatever
    /// waiters they made durable.
    /// - Returns: the failure, if a roll's sync failed (the flusher has stopped then).
    private func syncRolls() -> StorageError? {
        // Held while the rolls taken are synced: a sync that finds none pending has to wait for
        // those another thread is still syncing, or it could report their offsets durable first.
        let (rolls, failure) = rollSyncing.withLock { _ -> ([(RolledSegmentSync, generation: UInt64)], StorageError?) in
            let rolls = inner.withLock { inner in
                defer { inner.rolled.removeAll() }
                return inner.rolled
            }
            var failure: StorageError?
            for (roll, _) in rolls where failure == nil {
                do throws(StorageError) { try roll.sync() } catch { failure = error }
            }
            return (rolls, failure)
        }
        guard !rolls.isEmpty else { return nil }
        if let failure { directoryHealth?.markOffline(reason: "\(failure)") }
        let resumed = inner.withLock { inner -> [(CheckedContinuation<LogFlushError?, Never>, LogFlushError?)] in
            if let failure {
                let error = LogFlushError.syncFailed(failure)
                return inner.state.stop(error).compactMap { id in inner.continuations.removeValue(forKey: id).map { ($0, error) } }
            }
            inner.syncedRolls += rolls.map { ($0.0.nextBaseOffset, $0.generation) }
            // A rolled segment holds every offset below the next one's base: those are durable now,
            // unless a truncation since cut the log below them.
            let current = rolls.filter { $0.generation == inner.state.generation }
            guard let through = current.map(\.0.nextBaseOffset).max() else { return [] }
            return inner.state.noteDurable(through: through).compactMap { id in
                inner.continuations.removeValue(forKey: id).map { ($0, LogFlushError?.none) }
            }
        }
        for (continuation, error) in resumed { continuation.resume(returning: error) }
        return failure
    }

    /// Runs on the runner's thread: the pending rolls' fsyncs, one `fdatasync` of the active
    /// segment, then the waiters they cover, then the next sync.
    private func sync(_ start: Start) {
        if let failure = syncRolls() {
            // syncRolls() stopped the flusher and answered every waiter already.
            inner.withLock { _ = $0.state.syncFailed(start.sync, error: .syncFailed(failure)) }
            onSync(SyncReport(duration: .zero, failed: true, completedWaiters: 0))
            return
        }
        guard let handle = start.handle else {
            inner.withLock { $0.state.syncAbandoned(start.sync) }
            return
        }
        let began = ContinuousClock.now
        var failure: StorageError?
        do { try handle.sync() } catch { failure = error }
        let duration = ContinuousClock.now - began
        if let failure { directoryHealth?.markOffline(reason: "\(failure)") }
        let now = clockMs()
        let (resumed, next) = inner.withLock { inner -> ([(CheckedContinuation<LogFlushError?, Never>, LogFlushError?)], Start?) in
            if let failure {
                let error = LogFlushError.syncFailed(failure)
                let ids = inner.state.syncFailed(start.sync, error: error)
                return (ids.compactMap { id in inner.continuations.removeValue(forKey: id).map { ($0, error) } }, nil)
            }
            inner.lastSyncEndMs = now
            let completion = inner.state.syncSucceeded(start.sync)
            let resumed = completion.completed.compactMap { id in inner.continuations.removeValue(forKey: id).map { ($0, LogFlushError?.none) } }
            return (resumed, completion.next.map { ($0, inner.handle) })
        }
        for (continuation, error) in resumed { continuation.resume(returning: error) }
        onSync(SyncReport(duration: duration, failed: failure != nil, completedWaiters: resumed.count))
        if let next { run(next) }
    }

    /// Milliseconds of the monotonic clock.
    @Sendable public static func monotonicMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

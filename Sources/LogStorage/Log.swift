#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import Logging
import NIOCore
import SystemPackage

/// One partition's log: a directory `<topic>-<partition>` of segments, the last one active
/// (Kafka `UnifiedLog` + `LocalLog`).
///
/// Not thread-safe: exactly one owner (the broker's partition actor) calls it. Appends take a
/// record batch as the producer sent it, assign the base offset and partition leader epoch in
/// place (both outside the CRC-covered range) and write the bytes unchanged otherwise.
public final class Log {
    /// How to open a log: what the broker's checkpoints say about it.
    public struct LoadOptions: Sendable {
        /// Offset below which everything is known to be on disk (`recovery-point-offset-checkpoint`);
        /// `nil` recovers every segment.
        public var recoveryPoint: Int64?
        /// The broker stopped cleanly (`.kafka_cleanshutdown` was present): no segment is scanned.
        public var cleanShutdown: Bool
        /// The log start offset from `log-start-offset-checkpoint`, if any.
        public var logStartOffset: Int64?
        /// Inactive segments whose file and maps may stay open after a read.
        public var maxOpenInactiveSegments: Int
        /// The system calls under the segment files (tests inject power loss here, per log).
        var fileOperations: any FileOperations = RealFileOperations()
        /// The health of the log directory holding this log, shared by every log in it: appends
        /// check its free space first, and an I/O error here takes the whole directory offline
        /// (``LogDirectoryHealth``). `nil` checks nothing (tools, the metadata log).
        public var directoryHealth: LogDirectoryHealth?
        /// Whether a roll leaves its fsyncs to the owner (``Log/takeRolledSegmentSyncs()``), to run
        /// off its thread, instead of running them inline. The broker's partitions defer them and
        /// hand them to their ``LogFlusher``; tools and tests sync inline.
        public var defersRollSync = false

        public init(recoveryPoint: Int64? = nil, cleanShutdown: Bool = false, logStartOffset: Int64? = nil,
                    maxOpenInactiveSegments: Int = 2) {
            self.recoveryPoint = recoveryPoint
            self.cleanShutdown = cleanShutdown
            self.logStartOffset = logStartOffset
            self.maxOpenInactiveSegments = maxOpenInactiveSegments
        }
    }

    /// The partition directory.
    public let directory: FilePath
    public private(set) var config: LogConfig
    var segments: [LogSegment]
    /// First offset still readable (retention and DeleteRecords move it forward).
    public internal(set) var logStartOffset: Int64
    /// Offset below which every batch has been fsynced. With deferred roll syncs it stays behind
    /// a rolled segment until its sync has run (see ``rolledSegmentSynced(through:)``).
    public private(set) var recoveryPoint: Int64
    /// Rolls whose fsyncs are left to the owner (``LoadOptions/defersRollSync``), oldest first.
    private var rolledSegmentSyncs: [RolledSegmentSync] = []
    /// Leader epoch history (`leader-epoch-checkpoint`).
    public private(set) var leaderEpochCache: LeaderEpochCache
    /// Idempotent producers' recent batches (see `Log+ProducerState.swift`).
    public internal(set) var producerState = ProducerStateManager()
    /// The offset of the newest producer state snapshot on disk.
    var lastProducerSnapshotOffset: Int64?
    let logger: Logger
    let clock: @Sendable () -> Int64
    let fileOperations: any FileOperations
    /// See ``LoadOptions/directoryHealth``.
    let directoryHealth: LogDirectoryHealth?
    /// See ``LoadOptions/defersRollSync``.
    let defersRollSync: Bool
    private var openInactive: [Int64] = []
    private let maxOpenInactive: Int
    var pendingDeletes: [(paths: [FilePath], deadlineMs: Int64)] = []
    /// Offset ranges whose bytes failed verification, not served until truncated away
    /// (see `Log+Corruption.swift`).
    public internal(set) var corruptions: [LogCorruption] = []

    /// The offset the next appended record gets.
    public var logEndOffset: Int64 { segments[segments.count - 1].nextOffset }
    /// Bytes across all segments.
    public var sizeBytes: Int64 { segments.reduce(0) { $0 + $1.sizeBytes } }
    /// Bytes read and checked batch by batch when the log was opened (segments after the recovery
    /// point of an unclean shutdown); 0 after a clean shutdown.
    public private(set) var recoveredBytes: Int64 = 0
    public var segmentCount: Int { segments.count }
    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { segments.map(\.baseOffset) }
    /// Segments whose file is open right now (the active one included).
    public var openSegmentCount: Int { segments.filter(\.isOpen).count }
    var activeSegment: LogSegment { segments[segments.count - 1] }

    /// Opens the log in `directory`, creating it when missing.
    ///
    /// After a clean shutdown the segments are trusted (indexes that fail their sanity check are
    /// rebuilt). Otherwise every segment from the one holding the recovery point on is validated
    /// batch by batch (length, magic, CRC-32C, ascending offsets) with its indexes rebuilt; the first
    /// invalid byte and everything after it, later segments included, is removed, and one log line
    /// says how many bytes were cut and why.
    /// - Parameters:
    ///   - clock: wall-clock milliseconds since the epoch for retention by time, `segment.ms` rolls and
    ///     producer expiry; by default ``SteadyWallClock/shared``, which a forward jump of the system
    ///     clock does not move (tests pass a fake one).
    /// - Throws: ``StorageError`` when a file cannot be read or written.
    public init(directory: FilePath, config: LogConfig, logger: Logger, options: LoadOptions = LoadOptions(),
                clock: @escaping @Sendable () -> Int64 = Log.steadyWallClockMs) throws {
        self.directory = directory
        self.config = config
        self.logger = logger
        self.clock = clock
        self.maxOpenInactive = options.maxOpenInactiveSegments
        self.fileOperations = options.fileOperations
        self.directoryHealth = options.directoryHealth
        self.defersRollSync = options.defersRollSync
        try makeDirectories(directory)
        let now = clock()
        let ops = options.fileOperations
        let bases = try Self.prepareDirectory(directory, logger: logger)
        let recoverFrom: Int64 = {
            if options.cleanShutdown { return Int64.max }
            guard let point = options.recoveryPoint else { return Int64.min }
            return bases.last(where: { $0 <= point }) ?? Int64.min
        }()
        var loaded: [LogSegment] = []
        var cut = false
        var recoveredAny = false
        var scanned: Int64 = 0
        for (i, base) in bases.enumerated() {
            if cut {
                let doomed = LogSegment.openForRecovery(directory: directory, baseOffset: base, config: config, active: false, nowMs: now, fileOperations: ops)
                for path in [doomed.logPath, doomed.indexPath, doomed.timeIndexPath] { _ = unlink(path.string) }
                logger.warning("deleted a segment after a corrupt one", metadata: ["dir": "\(directory)", "baseOffset": "\(base)"])
                continue
            }
            let active = i == bases.count - 1
            if base >= recoverFrom {
                let segment = LogSegment.openForRecovery(directory: directory, baseOffset: base, config: config, active: active, nowMs: now, fileOperations: ops)
                let truncated = try segment.recover()
                recoveredAny = true
                scanned += segment.sizeBytes + Int64(truncated)
                if truncated > 0 {
                    logger.warning("recovery truncated invalid bytes at the end of a segment",
                                   metadata: ["dir": "\(directory)", "baseOffset": "\(base)", "bytes": "\(truncated)",
                                              "validBytes": "\(segment.sizeBytes)",
                                              "reason": "a batch failed its length, magic, CRC-32C or offset check (torn or corrupt write)"])
                    cut = true
                } else if !active, !config.compactEnabled, segment.nextOffset < bases[i + 1] {
                    // Offsets of a log that is not compacted are contiguous across segments: a
                    // segment ending before the next one starts lost its tail (a power cut before
                    // the roll's deferred fsync, LoadOptions.defersRollSync). What follows the hole
                    // was never reported durable (the flusher syncs a rolled segment before
                    // anything after it), so it goes, and the log stays a prefix of what was appended.
                    logger.warning("recovery found a segment ending before the next one starts; deleting the segments after it",
                                   metadata: ["dir": "\(directory)", "baseOffset": "\(base)", "end": "\(segment.nextOffset)",
                                              "nextBaseOffset": "\(bases[i + 1])"])
                    cut = true
                }
                loaded.append(segment)
            } else {
                let (segment, rebuilt) = try LogSegment.load(directory: directory, baseOffset: base, config: config, active: active, nowMs: now, fileOperations: ops)
                if rebuilt {
                    logger.warning("rebuilt indexes that failed their sanity check", metadata: ["dir": "\(directory)", "baseOffset": "\(base)"])
                }
                loaded.append(segment)
            }
        }
        if loaded.isEmpty {
            loaded.append(try LogSegment.create(directory: directory, baseOffset: max(0, options.logStartOffset ?? 0), config: config, nowMs: now, fileOperations: ops))
        }
        for i in 0..<(loaded.count - 1) {
            loaded[i].nextOffset = loaded[i + 1].baseOffset
            if loaded[i].isActive { try loaded[i].makeInactive() }
            loaded[i].closeHandles()
        }
        try loaded[loaded.count - 1].makeActive()
        segments = loaded
        logStartOffset = max(options.logStartOffset ?? loaded[0].baseOffset, loaded[0].baseOffset)
        if recoveredAny { try loaded[loaded.count - 1].flush() }
        recoveredBytes = scanned
        recoveryPoint = loaded[loaded.count - 1].nextOffset
        var cache = (try? LeaderEpochCache.read(from: directory)) ?? LeaderEpochCache()
        cache.truncate(from: loaded[loaded.count - 1].nextOffset + 1)
        leaderEpochCache = cache
        try loadProducerState()
    }

    /// Truncation support: drops segments that no longer exist from the open-segment tracking.
    func forgetOpenSegments(_ baseOffsets: [Int64]) {
        openInactive.removeAll { baseOffsets.contains($0) }
    }

    /// Truncation support: nothing past the new log end is flushed any more.
    func lowerRecoveryPoint(to offset: Int64) { recoveryPoint = min(recoveryPoint, offset) }

    /// Truncation support: the leader epoch history after a truncation.
    func replaceLeaderEpochCache(_ cache: LeaderEpochCache) { leaderEpochCache = cache }

    /// Milliseconds since the epoch from the system clock.
    @Sendable public static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Finishes what a crash interrupted (leftover `.deleted` and `.cleaned` files are removed,
    /// `.swap` files completed after the segments they replace are removed, see
    /// ``completeInterruptedSwaps(in:logger:)``) and returns the base offsets of the segments present.
    private static func prepareDirectory(_ directory: FilePath, logger: Logger) throws -> [Int64] {
        for name in try listDirectory(directory) where name.hasSuffix(".deleted") || name.hasSuffix(".cleaned") {
            _ = unlink(directory.appending(name).string)
        }
        try completeInterruptedSwaps(in: directory, logger: logger)
        let present = try listDirectory(directory)
        let bases = Set(present.compactMap { name -> Int64? in
            guard name.hasSuffix(".log"), name.count == 24 else { return nil }
            return Int64(name.dropLast(4))
        })
        // Index files without their log are leftovers of a delete or a crash.
        for name in present where name.hasSuffix(".index") || name.hasSuffix(".timeindex") {
            let stem = name.split(separator: ".").first.map(String.init) ?? ""
            if let base = Int64(stem), !bases.contains(base) { _ = unlink(directory.appending(name).string) }
        }
        return bases.sorted()
    }

    /// Records that `epoch` starts at the current log end offset, as a new leader does (KIP-101),
    /// and persists the history when it changed.
    public func assignLeaderEpoch(_ epoch: Int32) throws {
        if leaderEpochCache.assign(epoch: epoch, startOffset: logEndOffset) {
            try leaderEpochCache.write(to: directory)
        }
    }

    /// Appends one validated record batch.
    /// - Parameters:
    ///   - batch: the batch bytes; its baseOffset and partitionLeaderEpoch are overwritten.
    ///   - header: the batch header as validated.
    ///   - leaderEpoch: the partition's current leader epoch, stamped into the batch.
    /// - Returns: the assigned base offset.
    /// - Throws: ``StorageError`` on I/O failure or a batch larger than `segment.bytes`;
    ///   ``StorageError/logDirectoryFull(path:freeBytes:minFreeBytes:)`` or
    ///   ``StorageError/logDirectoryOffline(path:reason:)`` before anything is written when the
    ///   directory's health refuses appends.
    @discardableResult
    public func append(_ batch: ByteBuffer, header: RecordBatchHeader, leaderEpoch: Int32) throws -> Int64 {
        guard header.totalSize <= config.segmentBytes else {
            throw StorageError.batchLargerThanSegment(size: header.totalSize, segmentBytes: config.segmentBytes)
        }
        try directoryHealth?.checkAppend(bytes: header.totalSize)
        return try reportingFailures { try appendChecked(batch, header: header, leaderEpoch: leaderEpoch) }
    }

    /// Runs `body`, telling the directory's health about a failure (an I/O error may take the
    /// directory offline, ENOSPC forces a free-space reading).
    func reportingFailures<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            directoryHealth?.recordFailure(error)
            throw error
        }
    }

    /// Batches from this size on are stamped without copying them (see ``stamp(_:baseOffset:leaderEpoch:)``).
    static let stampInPlaceBelowBytes = 64 * 1024

    /// The batch's bytes with its base offset and partition leader epoch set, as pieces to write
    /// back to back. The batch's buffer is shared with the request it came in, so setting the
    /// fields in it would copy the whole batch (copy-on-write): a large batch is instead written
    /// as a stamped copy of its first 16 bytes (base offset, batch length, leader epoch) followed
    /// by the rest of the original buffer. The CRC does not cover those fields (KIP-98), so it
    /// stays valid. A small batch is stamped in a copy, which costs less than a second write.
    static func stamp(_ batch: ByteBuffer, baseOffset: Int64, leaderEpoch: Int32) -> [ByteBuffer] {
        let headBytes = RecordBatchHeader.Field.magic
        guard batch.readableBytes >= stampInPlaceBelowBytes else {
            var bytes = batch
            RecordBatchHeader.assign(baseOffset: baseOffset, partitionLeaderEpoch: leaderEpoch, in: &bytes, at: bytes.readerIndex)
            return [bytes]
        }
        var head = ByteBuffer()
        head.writeImmutableBuffer(batch.getSlice(at: batch.readerIndex, length: headBytes)!)
        RecordBatchHeader.assign(baseOffset: baseOffset, partitionLeaderEpoch: leaderEpoch, in: &head, at: head.readerIndex)
        return [head, batch.getSlice(at: batch.readerIndex + headBytes, length: batch.readableBytes - headBytes)!]
    }

    private func appendChecked(_ batch: ByteBuffer, header: RecordBatchHeader, leaderEpoch: Int32) throws -> Int64 {
        try maybeRoll(incomingBytes: header.totalSize, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: header.maxTimestamp)
        let baseOffset = logEndOffset
        let pieces = Self.stamp(batch, baseOffset: baseOffset, leaderEpoch: leaderEpoch)
        var stamped = header
        stamped.baseOffset = baseOffset
        stamped.partitionLeaderEpoch = leaderEpoch
        if leaderEpochCache.assign(epoch: leaderEpoch, startOffset: baseOffset) {
            try leaderEpochCache.write(to: directory)
        }
        try activeSegment.append(pieces, header: stamped)
        if stamped.producerID >= 0 {
            producerState.update(stamped, baseOffset: baseOffset, appendTimeMs: clock())
        }
        if config.flushOnAppend {
            try activeSegment.flush()
            recoveryPoint = logEndOffset
        }
        return baseOffset
    }

    /// Appends one batch copied from the partition leader, keeping the leader's base offset and
    /// partition leader epoch (Kafka `UnifiedLog.appendAsFollower`). The epoch history gains the
    /// batch's epoch when it is newer than the latest, starting at the batch's base offset
    /// (KIP-101), and the producer state follows the batch, so deduplication survives a leader change.
    /// - Parameters:
    ///   - batch: one whole batch as the leader stored it (its CRC already checked by the caller).
    ///   - header: its header; `baseOffset` must be at or past the log end offset (a compacted
    ///     leader log has gaps, so it may be past it).
    /// - Throws: ``StorageError/offsetOutOfRange(requested:logStartOffset:logEndOffset:)`` when the
    ///   batch starts below the log end offset; ``StorageError`` on I/O failure or a batch larger
    ///   than `segment.bytes`; the directory health's refusal (full or offline) before anything is
    ///   written, as for ``append(_:header:leaderEpoch:)`` (the follower then falls out of the ISR
    ///   rather than tearing a batch).
    public func appendAsFollower(_ batch: ByteBuffer, header: RecordBatchHeader) throws {
        guard header.baseOffset >= logEndOffset else {
            throw StorageError.offsetOutOfRange(requested: header.baseOffset, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        }
        guard header.totalSize <= config.segmentBytes else {
            throw StorageError.batchLargerThanSegment(size: header.totalSize, segmentBytes: config.segmentBytes)
        }
        try directoryHealth?.checkAppend(bytes: header.totalSize)
        try reportingFailures { try appendAsFollowerChecked(batch, header: header) }
    }

    private func appendAsFollowerChecked(_ batch: ByteBuffer, header: RecordBatchHeader) throws {
        let span = Int32(clamping: header.nextOffset - 1 - logEndOffset)
        try maybeRoll(incomingBytes: header.totalSize, lastOffsetDelta: span, maxTimestamp: header.maxTimestamp)
        if header.partitionLeaderEpoch >= 0, leaderEpochCache.assign(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset) {
            try leaderEpochCache.write(to: directory)
        }
        try activeSegment.append(batch, header: header)
        if header.producerID >= 0 {
            producerState.update(header, baseOffset: header.baseOffset, appendTimeMs: clock())
        }
        if config.flushOnAppend {
            try activeSegment.flush()
            recoveryPoint = logEndOffset
        }
    }

    /// Rolls when the active segment is full by size, old by `segment.ms`, has a full index, or
    /// the next batch's offsets would not fit a relative int32.
    private func maybeRoll(incomingBytes: Int, lastOffsetDelta: Int32, maxTimestamp: Int64) throws {
        let active = activeSegment
        guard active.sizeBytes > 0 else { return }
        let tooBig = active.sizeBytes + Int64(incomingBytes) > Int64(config.segmentBytes)
        let tooOld = active.timeWaitedForRoll(nowMs: clock(), incomingMaxTimestamp: maxTimestamp) > config.segmentMs
        let offsetOverflow = logEndOffset + Int64(lastOffsetDelta) - active.baseOffset > Int64(Int32.max)
        guard tooBig || tooOld || active.indexIsFull || offsetOverflow else { return }
        try roll()
    }

    /// Makes the active segment read-only (trimmed indexes, fsynced) and starts a new one at the
    /// log end offset. The recovery point moves to the new segment's base. With
    /// ``LoadOptions/defersRollSync`` the fsyncs (of the old segment, the producer snapshot and
    /// the directory) are left to the owner instead (``takeRolledSegmentSyncs()``), and the
    /// recovery point waits for them.
    public func roll() throws {
        let old = activeSegment
        let deferred = defersRollSync
        let oldFiles = try old.makeInactive(syncNow: !deferred)
        let next = try LogSegment.create(directory: directory, baseOffset: logEndOffset, config: config, nowMs: clock(),
                                         fileOperations: fileOperations, syncsDirectory: !deferred)
        segments.append(next)
        if !deferred { recoveryPoint = max(recoveryPoint, next.baseOffset) }
        // As Kafka: a snapshot per rolled segment bounds the replay after a crash to the active one.
        var snapshot: FilePath?
        do {
            snapshot = try writeProducerSnapshot(at: next.baseOffset, sync: !deferred)
        } catch {
            logger.warning("writing a producer state snapshot failed; a restart replays more of the log",
                           metadata: ["dir": "\(directory)", "error": "\(error)"])
        }
        if deferred {
            rolledSegmentSyncs.append(RolledSegmentSync(nextBaseOffset: next.baseOffset, files: oldFiles, snapshot: snapshot, directory: directory))
        }
        touch(old)
        logger.debug("rolled segment", metadata: ["dir": "\(directory)", "baseOffset": "\(next.baseOffset)"])
    }

    /// The active segment's `.log` file as ``LogFlusher`` syncs it. A roll fsyncs the old segment
    /// before the new one takes appends, so syncing the active segment up to the log end offset
    /// makes every offset below it durable.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the descriptor cannot be duplicated.
    public func activeSyncHandle() throws -> SegmentSyncHandle {
        try reportingFailures { try activeSegment.syncHandle() }
    }

    /// The rolls since the last call whose fsyncs were deferred, oldest first: the owner runs them
    /// off its thread (``LogFlusher/rolled(_:)``) and reports each with ``rolledSegmentSynced(through:)``.
    public func takeRolledSegmentSyncs() -> [RolledSegmentSync] {
        defer { rolledSegmentSyncs.removeAll() }
        return rolledSegmentSyncs
    }

    /// A deferred roll sync has run (``RolledSegmentSync/nextBaseOffset`` is `offset`): the
    /// recovery point moves up to the rolled segment's end, but never past the active segment's
    /// base (a truncation since may have cut below it).
    public func rolledSegmentSynced(through offset: Int64) {
        recoveryPoint = max(recoveryPoint, min(offset, activeSegment.baseOffset, logEndOffset))
    }

    /// Forces every segment to disk; the recovery point becomes the log end offset.
    public func flush() throws {
        // Nothing appended since the last flush: every byte and index entry is already durable
        // (truncation and cleaning sync their own files), so skip the fsyncs. Brokers with many
        // idle partitions shut down in milliseconds instead of one fsync per file.
        guard recoveryPoint < logEndOffset else { return }
        try directoryHealth?.checkRead()
        try reportingFailures {
            for segment in segments where segment.isOpen { try segment.flush() }
        }
        recoveryPoint = logEndOffset
    }

    /// Flushes and closes every file (trimming the active segment's indexes).
    public func close() {
        try? flush()
        try? maybeWriteProducerSnapshotAtEnd()
        for segment in segments { segment.closeHandles() }
        removeDeletedFiles(nowMs: Int64.max)
    }

    /// Applies a new configuration to later appends.
    public func updateConfig(_ config: LogConfig) { self.config = config }

    /// Marks `segment` as recently read, closing the least recently read inactive segments beyond
    /// the limit (the active segment always stays open).
    func touch(_ segment: LogSegment) {
        guard !segment.isActive else { return }
        openInactive.removeAll { $0 == segment.baseOffset }
        openInactive.append(segment.baseOffset)
        while openInactive.count > maxOpenInactive {
            let evicted = openInactive.removeFirst()
            segments.first { $0.baseOffset == evicted && !$0.isActive }?.closeHandles()
        }
    }

    /// Removes files renamed `.deleted` whose delay has passed.
    public func removeDeletedFiles(nowMs: Int64) {
        pendingDeletes.removeAll { entry in
            guard entry.deadlineMs <= nowMs else { return false }
            for path in entry.paths { _ = unlink(path.string) }
            return true
        }
    }

    // Internal access for the extensions.
    var allSegments: [LogSegment] { segments }
}

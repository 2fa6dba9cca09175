#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import Logging
import SystemPackage

extension Log {
    // MARK: Choosing what to clean

    /// The dirty range the cleaner may work on, Kafka's `LogCleanerManager.cleanableOffsets`: from
    /// `firstDirtyOffset` (reset to the log start offset when it lies outside the log) to the
    /// active segment's base offset, or to the base of the first segment whose largest timestamp is
    /// within `min.compaction.lag.ms` of `nowMs` when that comes first.
    func cleanableRange(firstDirtyOffset: Int64, nowMs: Int64) -> (firstDirty: Int64, firstUncleanable: Int64) {
        let firstDirty = firstDirtyOffset < logStartOffset || firstDirtyOffset > logEndOffset ? logStartOffset : firstDirtyOffset
        var firstUncleanable = activeSegment.baseOffset
        if config.minCompactionLagMs > 0,
           let young = segments.dropLast().first(where: { $0.nextOffset > firstDirty && $0.largestTimestamp > nowMs - config.minCompactionLagMs }) {
            firstUncleanable = min(firstUncleanable, young.baseOffset)
        }
        return (firstDirty, firstUncleanable)
    }

    /// Bytes wholly below the first dirty offset, and bytes in the cleanable dirty range.
    private func cleanerBytes(firstDirty: Int64, firstUncleanable: Int64) -> (clean: Int64, dirty: Int64) {
        var clean: Int64 = 0
        var dirty: Int64 = 0
        for segment in segments.dropLast() where segment.baseOffset < firstUncleanable {
            if segment.nextOffset <= firstDirty { clean += segment.sizeBytes } else { dirty += segment.sizeBytes }
        }
        return (clean, dirty)
    }

    /// Dirty bytes over clean plus dirty bytes below the first uncleanable offset (Kafka
    /// `cleanableRatio`); 0 when there is nothing to clean.
    public func dirtyRatio(firstDirtyOffset: Int64, nowMs: Int64? = nil) -> Double {
        let range = cleanableRange(firstDirtyOffset: firstDirtyOffset, nowMs: nowMs ?? clock())
        let bytes = cleanerBytes(firstDirty: range.firstDirty, firstUncleanable: range.firstUncleanable)
        let total = bytes.clean + bytes.dirty
        return total > 0 ? Double(bytes.dirty) / Double(total) : 0
    }

    /// What ``LogCleaner`` needs to clean this log off the owner's thread, or `nil` when no
    /// inactive segment holds dirty records.
    public func cleanerSnapshot(firstDirtyOffset: Int64, nowMs: Int64) -> CleanerSnapshot? {
        let range = cleanableRange(firstDirtyOffset: firstDirtyOffset, nowMs: nowMs)
        guard range.firstDirty < range.firstUncleanable else { return nil }
        let bytes = cleanerBytes(firstDirty: range.firstDirty, firstUncleanable: range.firstUncleanable)
        guard bytes.dirty > 0 else { return nil }
        let inactive = segments.dropLast().filter { $0.baseOffset < range.firstUncleanable }.map {
            CleanerSnapshot.Segment(baseOffset: $0.baseOffset, nextOffset: $0.nextOffset, sizeBytes: $0.sizeBytes, path: $0.logPath)
        }
        return CleanerSnapshot(directory: directory, config: config, segments: inactive, logStartOffset: logStartOffset,
                               firstDirtyOffset: range.firstDirty, firstUncleanableOffset: range.firstUncleanable,
                               activeSegmentBaseOffset: activeSegment.baseOffset, cleanBytes: bytes.clean, dirtyBytes: bytes.dirty)
    }

    // MARK: Swapping cleaned segments in

    /// Replaces the segments `cleaned` was made from with the cleaned ones (Kafka
    /// `LocalLog.replaceSegments`), on the log's owner.
    ///
    /// First every replaced segment must still be here unchanged; retention or DeleteRecords may
    /// have deleted some while the cleaner worked, and then the cleaned files are discarded and
    /// nothing changes. Otherwise, one group at a time: the `.cleaned` files are renamed `.swap`
    /// (the log file first), the replaced segments' files are renamed `.deleted` (removed after
    /// `file.delete.delay.ms`), the `.swap` files get their final names (the log file last) and the
    /// cleaned segment takes the replaced ones' place in memory. The directory is fsynced after each
    /// step. A crash anywhere in between is completed on the next open by
    /// ``completeInterruptedSwaps(in:logger:)``.
    /// - Returns: whether the cleaned segments were swapped in.
    /// - Throws: ``StorageError`` when a rename fails or a cleaned segment cannot be opened.
    @discardableResult
    public func swapIn(_ cleaned: CleanedLog) throws -> Bool {
        guard cleaned.directory == directory else { cleaned.discard(); return false }
        for group in cleaned.groups {
            for old in group.replaced {
                guard let segment = segments.first(where: { $0.baseOffset == old.baseOffset }),
                      !segment.isActive, segment.sizeBytes == old.sizeBytes, segment.nextOffset == old.nextOffset
                else {
                    cleaned.discard()
                    logger.info("discarded a cleaning: a segment it replaces changed or was deleted meanwhile",
                                metadata: ["dir": "\(directory)", "baseOffset": "\(old.baseOffset)"])
                    return false
                }
            }
        }
        let deadline = clock() + config.fileDeleteDelayMs
        for group in cleaned.groups {
            let base = group.baseOffset
            func path(_ suffix: String) -> FilePath { directory.appending(LogSegment.fileName(baseOffset: base, suffix: suffix)) }
            // 1. .cleaned -> .swap, log first: an index .swap never exists without its log .swap.
            for suffix in [".log", ".index", ".timeindex"] {
                try renameOrThrow(path(suffix + ".cleaned"), path(suffix + ".swap"))
            }
            syncDirectory(directory)
            // 2. The replaced segments go.
            guard let first = segments.firstIndex(where: { $0.baseOffset == base }) else { continue }
            let count = group.replaced.count
            for old in segments[first..<(first + count)] {
                pendingDeletes.append((old.markDeleted(), deadline))
            }
            syncDirectory(directory)
            // 3. .swap -> final, log last.
            for suffix in [".index", ".timeindex", ".log"] {
                try renameOrThrow(path(suffix + ".swap"), path(suffix))
            }
            syncDirectory(directory)
            let (segment, _) = try LogSegment.load(directory: directory, baseOffset: base, config: config, active: false, nowMs: clock(),
                                                   fileOperations: fileOperations)
            segment.closeHandles()
            segment.nextOffset = group.endOffset
            segments.replaceSubrange(first..<(first + count), with: [segment])
        }
        removeDeletedFiles(nowMs: clock())
        return true
    }

    private func renameOrThrow(_ from: FilePath, _ to: FilePath) throws {
        guard rename(from.string, to.string) == 0 else {
            throw StorageError.io(operation: "rename", path: from.string, errno: Errno(rawValue: errno))
        }
    }

    // MARK: Crash recovery

    /// Completes segment swaps a crash interrupted (Kafka `LogLoader.load`, first passes): every
    /// `<base>.log.swap` is a cleaned segment whose files were complete and fsynced before the
    /// rename. The segments it replaces may still be there, so every non-swap segment file whose
    /// base offset lies in [smallest swap base, largest swap end offset) is deleted first; then
    /// the `.swap` files get their final names. An index `.swap` without its log `.swap` is
    /// deleted (its index is rebuilt). Call after `.cleaned` and `.deleted` files are removed.
    static func completeInterruptedSwaps(in directory: FilePath, logger: Logger) throws {
        let names = try listDirectory(directory)
        let logSwaps = names.filter { $0.hasSuffix(".log.swap") }
        guard !names.filter({ $0.hasSuffix(".swap") }).isEmpty else { return }
        var minBase = Int64.max
        var maxEnd = Int64.min
        var swapBases = Set<Int64>()
        for name in logSwaps {
            guard let base = Int64(name.prefix(while: { $0 != "." })) else { continue }
            swapBases.insert(base)
            minBase = min(minBase, base)
            maxEnd = max(maxEnd, nextOffset(ofSegmentFile: directory.appending(name), baseOffset: base))
        }
        for name in names where !name.hasSuffix(".swap") && (name.hasSuffix(".log") || name.hasSuffix(".index") || name.hasSuffix(".timeindex")) {
            guard let base = Int64(name.prefix(while: { $0 != "." })), base >= minBase, base < maxEnd else { continue }
            _ = unlink(directory.appending(name).string)
            logger.info("deleted a segment file replaced by an interrupted swap", metadata: ["dir": "\(directory)", "file": "\(name)"])
        }
        for name in names where name.hasSuffix(".swap") {
            let target = String(name.dropLast(5))
            guard let base = Int64(name.prefix(while: { $0 != "." })), swapBases.contains(base) else {
                _ = unlink(directory.appending(name).string)
                continue
            }
            if rename(directory.appending(name).string, directory.appending(target).string) == 0 {
                logger.info("completed an interrupted segment swap", metadata: ["dir": "\(directory)", "file": "\(target)"])
            }
        }
        syncDirectory(directory)
    }

    /// The offset after the last whole batch of a segment file (its base offset when it has none).
    static func nextOffset(ofSegmentFile path: FilePath, baseOffset: Int64) -> Int64 {
        guard let file = try? SegmentFile.open(path, create: false), let size = try? file.size() else { return baseOffset }
        defer { file.close() }
        var next = baseOffset
        var position: Int64 = 0
        while position < size, let bytes = try? file.read(at: position, length: RecordBatchHeader.size),
              let header = RecordBatchHeader.peek(bytes, at: bytes.readerIndex),
              header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
              position + Int64(header.totalSize) <= size {
            next = header.nextOffset
            position += Int64(header.totalSize)
        }
        return next
    }
}

#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import NIOCore
import SystemPackage

/// One segment of a partition log (Kafka `LogSegment`): `<20-digit base offset>.log` holding
/// record batches back to back exactly as stored on the wire, with its sparse `.index` and
/// `.timeindex` beside it.
///
/// Only the active (last) segment takes appends; its indexes are preallocated to
/// `segment.index.bytes` and memory-mapped. When the segment rolls it gets a final time-index entry
/// holding its largest timestamp, its indexes are trimmed to their used size and everything is
/// fsynced. The file and maps of an inactive segment are opened on demand and closed again when
/// the owning ``Log`` evicts it from its small set of open segments, so file descriptors and maps
/// do not grow with the number of segments.
final class LogSegment {
    let baseOffset: Int64
    let directory: FilePath
    private(set) var sizeBytes: Int64 = 0
    /// Offset after the last batch (for an inactive segment loaded cleanly: the next segment's base).
    var nextOffset: Int64
    /// Largest record timestamp in the segment (ms), -1 when unknown or empty.
    private(set) var largestTimestamp: Int64 = -1
    private(set) var offsetOfLargestTimestamp: Int64 = -1
    /// The first batch's max timestamp, which `segment.ms` counts from in message time; `nil` when
    /// the segment is empty or the timestamp is negative.
    private(set) var firstBatchTimestamp: Int64?
    /// Wall-clock creation time (ms), which `segment.ms` counts from when there is no first timestamp.
    let createdMs: Int64
    private(set) var isActive: Bool
    private var bytesSinceLastIndexEntry = 0
    private let indexIntervalBytes: Int
    private let maxIndexBytes: Int
    private let fileOperations: any FileOperations
    /// Appended to every file name: empty for a live segment, `.cleaned` while the cleaner writes one.
    let fileSuffix: String

    private var openFile: SegmentFile?
    private var openOffsetIndex: OffsetIndex?
    private var openTimeIndex: TimeIndex?
    /// The duplicate descriptor the group commit syncs the active segment through (``syncHandle()``).
    private var cachedSyncHandle: SegmentSyncHandle?

    /// File name of a segment file: the base offset zero-padded to 20 digits (Kafka `LogFileUtils`).
    static func fileName(baseOffset: Int64, suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    var logPath: FilePath { directory.appending(Self.fileName(baseOffset: baseOffset, suffix: ".log" + fileSuffix)) }
    var indexPath: FilePath { directory.appending(Self.fileName(baseOffset: baseOffset, suffix: ".index" + fileSuffix)) }
    var timeIndexPath: FilePath { directory.appending(Self.fileName(baseOffset: baseOffset, suffix: ".timeindex" + fileSuffix)) }
    var isOpen: Bool { openFile != nil }

    private init(directory: FilePath, baseOffset: Int64, config: LogConfig, active: Bool, nowMs: Int64,
                 fileOperations: any FileOperations, fileSuffix: String = "") {
        self.fileOperations = fileOperations
        self.fileSuffix = fileSuffix
        self.directory = directory
        self.baseOffset = baseOffset
        self.nextOffset = baseOffset
        self.isActive = active
        self.indexIntervalBytes = config.indexIntervalBytes
        self.maxIndexBytes = config.segmentIndexBytes
        self.segmentBytes = config.segmentBytes
        self.createdMs = nowMs
    }

    // MARK: Header reads through a read-only map of the .log file

    /// `segment.bytes`, the size the map of an active segment is made for so it rarely remaps.
    private let segmentBytes: Int
    /// A read-only shared map of the `.log` file used for batch-header lookups: an index lookup
    /// then costs memory loads instead of `pread` system calls. Mapping past the end of the file
    /// is allowed; only bytes below `sizeBytes` are ever touched.
    private var headerMap: (base: UnsafeRawPointer, length: Int)?

    private func mappedBytes(upTo end: Int64) throws -> UnsafeRawPointer {
        if let map = headerMap, Int64(map.length) >= end { return map.base }
        unmapHeaders()
        let page = Self.pageSize
        var length = max(Int(end), isActive ? segmentBytes : Int(sizeBytes))
        length = (length + page - 1) / page * page
        let fd = try file().descriptor.rawValue
        // For the active segment, whose pages were just written and are cached, MAP_POPULATE maps
        // them up front (pages past the end of the file are skipped), so header lookups do not
        // take a page fault on first touch of each page. A closed segment is mapped lazily:
        // MAP_POPULATE reads a file mapping ahead in full, which for a cold segment would read
        // all of it (up to segment.bytes) from disk for one fetch.
        let flags = isActive ? MAP_SHARED | MAP_POPULATE : MAP_SHARED
        let pointer = mmap(nil, length, PROT_READ, flags, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw StorageError.io(operation: "mmap", path: logPath.string, errno: Errno(rawValue: errno))
        }
        headerMap = (UnsafeRawPointer(pointer), length)
        return UnsafeRawPointer(pointer)
    }

    private func unmapHeaders() {
        if let map = headerMap { munmap(UnsafeMutableRawPointer(mutating: map.base), map.length) }
        headerMap = nil
    }

    deinit { unmapHeaders() }

    /// Kafka's `LogSegment.shouldRoll` time rule: message time since the first batch when the
    /// timestamps allow it, else wall-clock time since the segment was created.
    func timeWaitedForRoll(nowMs: Int64, incomingMaxTimestamp: Int64) -> Int64 {
        if let first = firstBatchTimestamp { return incomingMaxTimestamp - first }
        return nowMs - createdMs
    }

    // MARK: Handles

    private func file() throws -> SegmentFile {
        if let openFile { return openFile }
        let f = try SegmentFile.open(logPath, create: false, operations: fileOperations)
        openFile = f
        return f
    }

    private func offsetIndex() throws -> OffsetIndex {
        if let openOffsetIndex { return openOffsetIndex }
        let i = try OffsetIndex(directory: directory, baseOffset: baseOffset, maxBytes: maxIndexBytes, writable: isActive, suffix: fileSuffix)
        openOffsetIndex = i
        return i
    }

    private func timeIndex() throws -> TimeIndex {
        if let openTimeIndex { return openTimeIndex }
        let i = try TimeIndex(directory: directory, baseOffset: baseOffset, maxBytes: maxIndexBytes, writable: isActive, suffix: fileSuffix)
        openTimeIndex = i
        return i
    }

    /// The `.log` file as the group commit syncs it off the owner's thread: one duplicate
    /// descriptor per segment, made on first use and kept while the segment is active.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the file cannot be opened or duplicated.
    func syncHandle() throws -> SegmentSyncHandle {
        if let cachedSyncHandle { return cachedSyncHandle }
        let handle = try SegmentSyncHandle(duplicating: try file().descriptor, path: logPath, operations: fileOperations)
        cachedSyncHandle = handle
        return handle
    }

    /// Closes the file and unmaps the indexes (trimmed first); they reopen on the next access.
    func closeHandles() {
        cachedSyncHandle = nil
        unmapHeaders()
        try? openOffsetIndex?.file.trimToValidSize()
        try? openTimeIndex?.file.trimToValidSize()
        openFile?.close()
        openFile = nil
        openOffsetIndex = nil
        openTimeIndex = nil
    }

    // MARK: Creating and loading

    /// Creates an empty active segment with preallocated indexes.
    /// - Parameter fileSuffix: `.cleaned` for a segment the log cleaner fills (`<base>.log.cleaned` and
    ///   its indexes); it takes appends like an active segment but is never part of a ``Log``.
    /// - Parameter syncsDirectory: false when the caller syncs the directory later (a roll whose
    ///   fsyncs are deferred: ``RolledSegmentSync``).
    static func create(directory: FilePath, baseOffset: Int64, config: LogConfig, nowMs: Int64,
                       fileOperations: any FileOperations = RealFileOperations(), fileSuffix: String = "",
                       syncsDirectory: Bool = true) throws -> LogSegment {
        let segment = LogSegment(directory: directory, baseOffset: baseOffset, config: config, active: true, nowMs: nowMs,
                                 fileOperations: fileOperations, fileSuffix: fileSuffix)
        for path in [segment.indexPath, segment.timeIndexPath] { _ = unlink(path.string) }
        let file = try SegmentFile.open(segment.logPath, create: true, operations: fileOperations)
        try file.truncate(to: 0)
        segment.openFile = file
        _ = try segment.offsetIndex()
        _ = try segment.timeIndex()
        if syncsDirectory { syncDirectory(directory) }
        return segment
    }

    /// Opens a segment after a clean shutdown or below the recovery point, trusting its indexes if
    /// they pass the sanity check and rebuilding them from the log otherwise.
    /// - Returns: the segment, and whether its indexes had to be rebuilt.
    static func load(directory: FilePath, baseOffset: Int64, config: LogConfig, active: Bool, nowMs: Int64,
                     fileOperations: any FileOperations = RealFileOperations()) throws -> (LogSegment, rebuilt: Bool) {
        let segment = LogSegment(directory: directory, baseOffset: baseOffset, config: config, active: active, nowMs: nowMs, fileOperations: fileOperations)
        // Checked before opening: a missing index file would be created empty (hiding the segment's
        // largest timestamp) and a partial entry would be rounded away by a writable map.
        let indexFilesWhole = Self.holdsWholeEntries(segment.indexPath, entrySize: OffsetIndex.entrySize)
            && Self.holdsWholeEntries(segment.timeIndexPath, entrySize: TimeIndex.entrySize)
        let file = try segment.file()
        segment.sizeBytes = try file.size()
        let offsets = try segment.offsetIndex()
        let times = try segment.timeIndex()
        // The tail after the last index entry is scanned for the log end and the largest timestamp;
        // the batch at the last entry must be the one the entry names.
        let last = offsets.entryCount > 0 ? offsets.entry(offsets.entryCount - 1) : nil
        guard indexFilesWhole, offsets.isSane(logSize: segment.sizeBytes), times.isSane(),
              last.map({ last in (try? segment.header(at: last.position))?.lastOffset == last.offset }) ?? true
        else {
            _ = try segment.recover()
            return (segment, true)
        }
        if let lastTime = times.lastEntry {
            segment.largestTimestamp = lastTime.timestamp
            segment.offsetOfLargestTimestamp = lastTime.offset
        }
        if segment.sizeBytes >= Int64(RecordBatchHeader.size), let first = try? segment.header(at: 0), first.maxTimestamp >= 0 {
            segment.firstBatchTimestamp = first.maxTimestamp
        }
        var position = last?.position ?? 0
        segment.nextOffset = baseOffset
        while position < segment.sizeBytes {
            let bytes = try file.read(at: position, length: RecordBatchHeader.size)
            guard let header = RecordBatchHeader.peek(bytes, at: bytes.readerIndex),
                  position + Int64(header.totalSize) <= segment.sizeBytes
            else {
                _ = try segment.recover()
                return (segment, true)
            }
            segment.nextOffset = header.nextOffset
            if header.maxTimestamp > segment.largestTimestamp {
                segment.largestTimestamp = header.maxTimestamp
                segment.offsetOfLargestTimestamp = header.lastOffset
            }
            position += Int64(header.totalSize)
        }
        if let lastTime = times.lastEntry, lastTime.offset >= segment.nextOffset {
            _ = try segment.recover()  // a time index pointing past the log
            return (segment, true)
        }
        segment.bytesSinceLastIndexEntry = Int(segment.sizeBytes - (last?.position ?? 0))
        if !active { segment.closeHandles() }
        return (segment, false)
    }

    /// Whether the file at `path` exists and holds whole index entries.
    private static func holdsWholeEntries(_ path: FilePath, entrySize: Int) -> Bool {
        var st = stat()
        return stat(path.string, &st) == 0 && Int(st.st_size) % entrySize == 0
    }

    /// The checks of a stored batch's header that its CRC-32C does not cover: a length that holds
    /// at least the header, offsets starting at or after `nextOffset` (the end of the batch
    /// before it), and a last offset not before the base offset. Recovery and the scrubber
    /// (``SegmentScrubber``) both apply them.
    static func storedHeaderIsSane(_ header: RecordBatchHeader, nextOffset: Int64) -> Bool {
        header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead)
            && header.baseOffset >= nextOffset && header.lastOffsetDelta >= 0
    }

    /// Validates the segment batch by batch (length, magic, CRC-32C, ascending offsets), rebuilding
    /// both indexes as it goes, and truncates the file at the first invalid byte.
    /// - Returns: the number of bytes cut off (0 when the file was whole).
    func recover() throws -> Int64 {
        let file = try file()
        let offsets = try offsetIndex()
        let times = try timeIndex()
        try offsets.file.resetEmpty(maxBytes: maxIndexBytes)
        try times.file.resetEmpty(maxBytes: maxIndexBytes)
        let fileSize = try file.size()
        sizeBytes = 0
        nextOffset = baseOffset
        largestTimestamp = -1
        offsetOfLargestTimestamp = -1
        bytesSinceLastIndexEntry = 0
        var position: Int64 = 0
        let chunkBytes = 8 << 20
        scan: while position < fileSize {
            var chunk = try file.read(at: position, length: Int(min(Int64(chunkBytes), fileSize - position)))
            var consumed = 0
            var stop = false
            while true {
                let at = chunk.readerIndex + consumed
                guard let header = RecordBatchHeader.peek(chunk, at: at) else {
                    stop = consumed == 0 || chunk.readableBytes - consumed >= RecordBatchHeader.size
                    break
                }
                guard Self.storedHeaderIsSane(header, nextOffset: nextOffset) else { stop = true; break }
                if at + header.totalSize > chunk.writerIndex {
                    if consumed > 0 { break }  // re-read from this batch
                    if position + Int64(header.totalSize) > fileSize { stop = true; break }  // torn tail
                    chunk = try file.read(at: position, length: header.totalSize)
                    guard chunk.readableBytes == header.totalSize else { stop = true; break }
                }
                guard RecordBatchHeader.crcMatches(chunk, at: chunk.readerIndex + consumed, header: header) else { stop = true; break }
                try noteAppended(header: header, position: position + Int64(consumed))
                consumed += header.totalSize
                if chunk.readerIndex + consumed >= chunk.writerIndex { break }
            }
            position += Int64(consumed)
            if stop || consumed == 0 { break scan }
        }
        let truncated = fileSize - position
        if truncated > 0 { try file.truncate(to: position) }
        if !isActive {
            appendFinalTimeIndexEntry(times)
            try offsets.file.trimToValidSize()
            try times.file.trimToValidSize()
        }
        return truncated
    }

    private func noteAppended(header: RecordBatchHeader, position: Int64) throws {
        // A full index (segment.index.bytes lowered since the segment was written) only makes the
        // rebuilt index sparser; appends roll before they could reach this point.
        if bytesSinceLastIndexEntry > indexIntervalBytes, try !offsetIndex().isFull {
            try offsetIndex().append(offset: header.lastOffset, position: position)
            let maxSoFar = max(largestTimestamp, header.maxTimestamp)
            let offsetOfMax = header.maxTimestamp > largestTimestamp ? header.lastOffset : offsetOfLargestTimestamp
            try timeIndex().maybeAppend(timestamp: maxSoFar, offset: offsetOfMax)
            bytesSinceLastIndexEntry = 0
        }
        if position == 0 && header.maxTimestamp >= 0 { firstBatchTimestamp = header.maxTimestamp }
        bytesSinceLastIndexEntry += header.totalSize
        sizeBytes = position + Int64(header.totalSize)
        nextOffset = header.nextOffset
        if header.maxTimestamp > largestTimestamp {
            largestTimestamp = header.maxTimestamp
            offsetOfLargestTimestamp = header.lastOffset
        }
    }

    /// Cuts the batch holding `offset` and every batch after it (Kafka `LogSegment.truncateTo`),
    /// then rebuilds the indexes and statistics from what is left. Batches are never split: the
    /// segment ends at the base offset of the first batch whose last offset is at or after `offset`.
    /// - Returns: the number of bytes removed.
    /// - Throws: ``StorageError`` on I/O failure.
    func truncate(to offset: Int64) throws -> Int64 {
        let file = try file()
        let size = sizeBytes
        var position: Int64 = 0
        while position + Int64(RecordBatchHeader.size) <= size {
            let bytes = try file.read(at: position, length: RecordBatchHeader.size)
            guard let header = RecordBatchHeader.peek(bytes, at: bytes.readerIndex), header.lastOffset < offset else { break }
            position += Int64(header.totalSize)
        }
        guard position < size else { return 0 }
        try file.truncate(to: position)
        _ = try recover()
        try file.sync()
        return size - position
    }

    /// Turns a segment loaded as inactive back into the active one (recovery cut everything after
    /// it): its indexes grow back to `segment.index.bytes` for appends.
    func makeActive() throws {
        guard !isActive else { return }
        isActive = true
        try offsetIndex().file.growForAppends(maxBytes: maxIndexBytes)
        try timeIndex().file.growForAppends(maxBytes: maxIndexBytes)
    }

    /// Opens a segment without trusting anything; the caller runs ``recover()`` next.
    static func openForRecovery(directory: FilePath, baseOffset: Int64, config: LogConfig, active: Bool, nowMs: Int64,
                                fileOperations: any FileOperations = RealFileOperations()) -> LogSegment {
        LogSegment(directory: directory, baseOffset: baseOffset, config: config, active: active, nowMs: nowMs, fileOperations: fileOperations)
    }

    // MARK: Appending and rolling

    /// Whether the next append would overflow an index.
    var indexIsFull: Bool {
        (openOffsetIndex?.isFull ?? false) || (openTimeIndex?.isFull ?? false)
    }

    /// Appends one batch whose base offset is already assigned.
    func append(_ batch: ByteBuffer, header: RecordBatchHeader) throws {
        try append([batch], header: header)
    }

    /// Appends one batch given as pieces written back to back (``Log/stamp(_:baseOffset:leaderEpoch:)``).
    func append(_ pieces: [ByteBuffer], header: RecordBatchHeader) throws {
        precondition(isActive, "append to inactive segment \(logPath)")
        let position = sizeBytes
        let file = try file()
        do {
            var at = position
            for piece in pieces {
                try file.write(piece, at: at)
                at += Int64(piece.readableBytes)
            }
        } catch {
            // A write that failed part-way (disk full) leaves a torn batch past the end; cut it so
            // the file again ends at the last whole batch. Reads never go past `sizeBytes` anyway.
            try? file.truncate(to: position)
            throw error
        }
        try noteAppended(header: header, position: position)
    }

    private func appendFinalTimeIndexEntry(_ times: TimeIndex) {
        if largestTimestamp >= 0 { times.maybeAppend(timestamp: largestTimestamp, offset: offsetOfLargestTimestamp) }
    }

    /// Makes this segment read-only: a final time-index entry with its largest timestamp, indexes
    /// trimmed, everything fsynced (Kafka `onBecomeInactiveSegment` plus the flush on roll).
    /// - Parameter syncNow: false leaves the fsyncs to the caller, off the log owner's thread
    ///   (Kafka flushes a rolled segment from its scheduler too).
    /// - Returns: with `syncNow` false, the `.log` and both index files to sync; otherwise none.
    @discardableResult
    func makeInactive(syncNow: Bool = true) throws -> [SegmentSyncHandle] {
        guard isActive else { return [] }
        let times = try timeIndex()
        appendFinalTimeIndexEntry(times)
        if syncNow { try flush() }
        try openOffsetIndex?.file.trimToValidSize()
        try times.file.trimToValidSize()
        var toSync: [SegmentSyncHandle] = []
        if !syncNow {
            toSync.append(try syncHandle())
            toSync.append(try offsetIndex().file.syncHandle(operations: fileOperations))
            toSync.append(try times.file.syncHandle(operations: fileOperations))
        }
        isActive = false
        // A sync still running holds its own reference; later ones go to the next segment.
        cachedSyncHandle = nil
        return toSync
    }

    /// fsyncs the log file and msyncs the indexes.
    func flush() throws {
        try openFile?.sync()
        try openOffsetIndex?.file.flush()
        try openTimeIndex?.file.flush()
    }

    // MARK: Reading

    /// The byte position of the batch that contains `offset`, or `nil` if no batch in this segment
    /// has a last offset at or after it.
    func position(of offset: Int64) throws -> Int64? {
        guard offset < nextOffset else { return nil }
        let start = try offsetIndex().lookup(offset).position
        return try scan(from: start) { $0.lastOffset >= offset }
    }

    /// The position of the first batch whose max timestamp is at or after `target` (ms), or `nil`.
    func position(ofTimestamp target: Int64) throws -> Int64? {
        guard largestTimestamp >= target else { return nil }
        let after = try timeIndex().lookup(target)
        let start = try offsetIndex().lookup(after).position
        return try scan(from: start) { $0.maxTimestamp >= target }
    }

    private func scan(from start: Int64, until match: (RecordBatchHeader) -> Bool) throws -> Int64? {
        var position = start
        while position < sizeBytes {
            let header = try header(at: position)
            if match(header) { return position }
            position += Int64(header.totalSize)
        }
        return nil
    }

    /// Reads up to `length` bytes starting at byte `position`.
    func read(at position: Int64, length: Int) throws -> ByteBuffer {
        try file().read(at: position, length: Int(min(Int64(length), sizeBytes - position)))
    }

    /// The batch header at `position`, read through the header map.
    func header(at position: Int64) throws -> RecordBatchHeader {
        guard position >= 0, position + Int64(RecordBatchHeader.size) <= sizeBytes else {
            throw StorageError.corrupt(path: logPath.string, position: position, reason: "batch header past the end of the segment")
        }
        let base = try mappedBytes(upTo: position + Int64(RecordBatchHeader.size))
        let raw = UnsafeRawBufferPointer(start: base + Int(position), count: RecordBatchHeader.size)
        guard let header = RecordBatchHeader.peek(raw: raw) else {
            throw StorageError.corrupt(path: logPath.string, position: position, reason: "unreadable batch header")
        }
        return header
    }

    /// Whole batches from the batch at `position`, found by their headers alone (through the
    /// header map, so nothing else is read): the same batches ``Log/read(from:maxBytes:upperBound:)``
    /// returns. The first batch is taken even past `maxBytes` (KIP-74); later ones while they fit.
    /// - Parameter upperBound: batches starting at or after this offset are left out.
    /// - Throws: ``StorageError/corrupt(path:position:reason:)`` when the first batch's header is
    ///   unreadable or the batch runs past the end of the segment (a later one ends the range).
    func batchRange(at position: Int64, maxBytes: Int, upperBound: Int64) throws -> BatchRange {
        let limit = position + Int64(max(maxBytes, RecordBatchHeader.size))
        var range = BatchRange(position: position)
        var end = position
        while end < sizeBytes {
            // Past the first batch, an unreadable header ends the range, as it ends a read.
            guard let header = range.batchCount == 0 ? try header(at: end) : try? header(at: end) else { break }
            if header.baseOffset >= upperBound { break }
            let next = end + Int64(header.totalSize)
            if range.batchCount > 0, next > limit || next > sizeBytes { break }
            guard next <= sizeBytes else {
                throw StorageError.corrupt(path: logPath.string, position: end, reason: "batch runs past the end of the segment")
            }
            end = next
            range.batchCount += 1
            range.recordCount += Int(header.recordsCount)
            range.compressionCodecs |= 1 << UInt8(header.compressionCodecID & 0x7)
        }
        range.byteCount = Int(end - position)
        return range
    }

    /// Whether every page of `range` is in the page cache (`mincore(2)` on the header map), so
    /// sending it with `sendfile` on an event loop will not wait for the disk (KAFKA-7504: cold
    /// reads on Kafka's network threads stall every connection of the thread).
    func isCached(_ range: BatchRange) throws -> Bool {
        guard range.byteCount > 0 else { return true }
        let end = range.position + Int64(range.byteCount)
        let base = try mappedBytes(upTo: end)
        let page = Self.pageSize
        let start = Int(range.position) / page * page
        let length = Int(end) - start
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: (length + page - 1) / page) { residency in
            guard mincore(UnsafeMutableRawPointer(mutating: base + start), length, residency.baseAddress) == 0 else { return false }
            return residency.allSatisfy { $0 & 1 == 1 }
        }
    }

    /// The system's page size in bytes (maps and `mincore` work in whole pages).
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// `range` as a ``FileRecords`` holding its own duplicate of the file's descriptor.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the file cannot be opened or
    ///   `dup` fails (EMFILE).
    func fileRecords(_ range: BatchRange) throws -> FileRecords {
        let copy = Glibc.dup(try file().descriptor.rawValue)
        guard copy >= 0 else { throw StorageError.io(operation: "dup", path: logPath.string, errno: Errno(rawValue: errno)) }
        return FileRecords(descriptor: copy, range: range, path: logPath)
    }

    /// Last modification time of the `.log` file in ms; for an inactive segment, its roll time.
    func lastModifiedMs() -> Int64 {
        var st = stat()
        guard stat(logPath.string, &st) == 0 else { return 0 }
        return Int64(st.st_mtim.tv_sec) * 1000 + Int64(st.st_mtim.tv_nsec) / 1_000_000
    }

    // MARK: Deleting

    /// Renames the segment's files with a `.deleted` suffix (Kafka's asynchronous delete); the
    /// caller removes them after `file.delete.delay.ms`.
    /// - Returns: the renamed paths.
    func markDeleted() -> [FilePath] {
        closeHandles()
        var renamed: [FilePath] = []
        for path in [logPath, indexPath, timeIndexPath] {
            let target = FilePath(path.string + ".deleted")
            if rename(path.string, target.string) == 0 { renamed.append(target) }
        }
        return renamed
    }
}

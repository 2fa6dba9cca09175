#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import NIOCore
import SystemPackage

/// Log compaction (Kafka `LogCleaner.Cleaner`): keeps the newest record per key below the active
/// segment, at its original offset.
///
/// ``clean(_:nowMs:maxMapBytes:isCancelled:)`` is pure file work on a ``CleanerSnapshot`` and may run
/// on any thread; it never touches the ``Log`` object. It works in two passes:
///
/// 1. **Offset map.** Every record of the dirty range [first dirty offset, first uncleanable offset)
///    is read (batches decompressed as needed) and its key mapped to the last offset it appears at.
///    Keys are compared as raw bytes. The map grows one whole segment at a time up to `maxMapBytes`;
///    the dirty range actually cleaned ends with the last segment that went into the map.
/// 2. **Rewrite.** Every segment below the end of that range is copied, in groups of consecutive
///    segments that together fit `segment.bytes`, the index sizes and int32 relative offsets
///    (Kafka `groupSegmentsBySize`), into one `<base>.log.cleaned` per group with its `.index.cleaned`
///    and `.timeindex.cleaned`. A record survives when no later offset in the map has its key. A
///    tombstone (null value) survives in addition only until its batch's delete horizon (KIP-534):
///    the first cleaning that keeps a tombstone sets attribute bit 6 and stores
///    `now + delete.retention.ms` as the batch's base timestamp (record timestamp deltas are
///    rewritten against it, so every record keeps its timestamp); a later cleaning after that time
///    drops it. Records without a key are dropped, as Kafka does.
///
/// A batch whose records all survive (and that needs no delete horizon) is copied byte for byte. A
/// batch that lost records is rebuilt with the same base offset, last offset delta, partition leader
/// epoch, producer id/epoch/base sequence, timestamp type, transactional flag and codec (recompressed
/// with ``CompressionCodec/compress(_:)``) and a new CRC-32C. A batch that lost all its records is
/// dropped, except (as Kafka's `RETAIN_EMPTY`) as an empty batch when it is the last batch of its
/// producer id among the cleaned segments, or the last batch of its group. Kafka keeps only the last
/// batch of the whole cleaned range; keeping the last of every group costs one 61-byte batch per
/// cleaned segment and makes every cleaned segment end exactly where the segments it replaces
/// ended, which is what crash recovery of an interrupted swap reads from a `.swap` file (see
/// ``Log/completeInterruptedSwaps(in:logger:)``). Control batches are copied unchanged. Batches are CRC-checked before they are copied; a corrupt one stops the
/// cleaning.
public enum LogCleaner {
    /// Why a cleaning stopped without output; the next round tries again.
    public struct Aborted: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public var description: String { "cleaning aborted: \(reason)" }
    }

    /// Default bound on the offset map: roughly Kafka's `log.cleaner.dedupe.buffer.size` (128 MiB).
    public static let defaultMaxMapBytes = 128 << 20
    /// Bound on one batch's decompressed records.
    static let maxUncompressedBytes = 1 << 30
    /// Attribute bit 6: the base timestamp is the delete horizon (KIP-534).
    static let deleteHorizonFlag: Int16 = 0x40

    /// Cleans the dirty range of `snapshot` into `.cleaned` segment files.
    /// - Parameters:
    ///   - nowMs: wall-clock milliseconds, for delete horizons.
    ///   - maxMapBytes: approximate memory bound of the key → offset map; at least one dirty segment
    ///     is always mapped.
    ///   - isCancelled: polled between batches; `true` stops with ``Aborted``.
    /// - Returns: the cleaned groups, for ``Log/swapIn(_:)``.
    /// - Throws: ``Aborted`` when cancelled or a segment file vanished (retention deleted it);
    ///   ``StorageError`` or a decoding error for unreadable data. No `.cleaned` file is left behind
    ///   when it throws.
    public static func clean(_ snapshot: CleanerSnapshot, nowMs: Int64, maxMapBytes: Int = defaultMaxMapBytes,
                             isCancelled: @Sendable () -> Bool = { false }) throws -> CleanedLog {
        let started = ContinuousClock.now
        var stats = CleanedLog.Stats()
        var written: [Int64] = []
        do {
            let map = try buildOffsetMap(snapshot, maxMapBytes: maxMapBytes, isCancelled: isCancelled)
            stats.keys = map.latest.count
            let toClean = snapshot.segments.filter { $0.nextOffset <= map.endOffset }
            var groups: [CleanedLog.Group] = []
            for group in groupSegments(toClean, config: snapshot.config) {
                written.append(group[0].baseOffset)
                let bytes = try cleanGroup(group, snapshot: snapshot, map: map, nowMs: nowMs, stats: &stats, isCancelled: isCancelled)
                groups.append(CleanedLog.Group(replaced: group, cleanedBytes: bytes))
            }
            let elapsed = ContinuousClock.now - started
            stats.durationMs = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            return CleanedLog(directory: snapshot.directory, groups: groups, firstDirtyOffset: snapshot.firstDirtyOffset,
                              endOffset: map.endOffset, stats: stats)
        } catch {
            for base in written {
                for suffix in CleanedLog.fileSuffixes {
                    _ = unlink(snapshot.directory.appending(LogSegment.fileName(baseOffset: base, suffix: suffix + ".cleaned")).string)
                }
            }
            if let storage = error as? StorageError, case .io(_, let path, let errno) = storage, errno == .noSuchFileOrDirectory {
                throw Aborted(reason: "\(path) disappeared while cleaning (deleted by retention?)")
            }
            throw error
        }
    }

    // MARK: Pass 1: the offset map

    struct OffsetMap {
        /// Key bytes → the last offset that key has in the dirty range.
        var latest: [[UInt8]: Int64] = [:]
        /// Producer id → last offset of its last batch among the segments to be cleaned.
        var lastBatchOfProducer: [Int64: Int64] = [:]
        /// The end of the mapped dirty range (a segment boundary).
        var endOffset: Int64
    }

    static func buildOffsetMap(_ snapshot: CleanerSnapshot, maxMapBytes: Int, isCancelled: () -> Bool) throws -> OffsetMap {
        let firstDirty = snapshot.firstDirtyOffset
        var map = OffsetMap(endOffset: firstDirty)
        // Producer state of the clean part: batch headers only.
        for segment in snapshot.segments where segment.nextOffset <= firstDirty {
            try forEachHeader(of: segment) { header in
                if header.producerID >= 0 { map.lastBatchOfProducer[header.producerID] = header.lastOffset }
            }
        }
        var mapBytes = 0
        for segment in snapshot.segments where segment.nextOffset > firstDirty && segment.baseOffset < snapshot.firstUncleanableOffset {
            if map.endOffset > firstDirty && mapBytes >= maxMapBytes { break }
            var reader = try BatchReader(segment)
            defer { reader.close() }
            while let (header, batch) = try reader.next() {
                if isCancelled() { throw Aborted(reason: "cancelled") }
                if header.producerID >= 0 { map.lastBatchOfProducer[header.producerID] = header.lastOffset }
                guard header.lastOffset >= firstDirty, !header.isControl else { continue }
                for record in try RecordBatchHeader.records(of: batch, maxUncompressedBytes: maxUncompressedBytes) {
                    let offset = header.baseOffset + Int64(record.offsetDelta)
                    guard offset >= firstDirty, let key = record.key else { continue }
                    let bytes = Array(key.readableBytesView)
                    if map.latest.updateValue(offset, forKey: bytes) == nil { mapBytes += bytes.count + 48 }
                }
            }
            map.endOffset = segment.nextOffset
        }
        return map
    }

    // MARK: Pass 2: rewriting

    /// Consecutive segments that fit one cleaned segment (Kafka `groupSegmentsBySize`): together at
    /// most `segment.bytes` (a single larger segment forms its own group), index entries that fit
    /// `segment.index.bytes`, and offsets within int32 of the group's base.
    static func groupSegments(_ segments: [CleanerSnapshot.Segment], config: LogConfig) -> [[CleanerSnapshot.Segment]] {
        let maxEntries = Int64(config.segmentIndexBytes / TimeIndex.entrySize)
        func indexEntries(_ bytes: Int64) -> Int64 { bytes / Int64(max(1, config.indexIntervalBytes)) + 2 }
        var groups: [[CleanerSnapshot.Segment]] = []
        var rest = segments[...]
        while let first = rest.popFirst() {
            var group = [first]
            var bytes = first.sizeBytes
            while let next = rest.first,
                  bytes + next.sizeBytes <= Int64(config.segmentBytes),
                  indexEntries(bytes + next.sizeBytes) <= maxEntries,
                  next.sizeBytes == 0 || next.nextOffset - 1 - first.baseOffset <= Int64(Int32.max) {
                group.append(next)
                bytes += next.sizeBytes
                rest.removeFirst()
            }
            groups.append(group)
        }
        return groups
    }

    /// Writes the survivors of `group` into `<base>.log.cleaned` (+ indexes), fsynced and with the
    /// modification time of the group's last segment.
    /// - Returns: the cleaned segment's size.
    static func cleanGroup(_ group: [CleanerSnapshot.Segment], snapshot: CleanerSnapshot, map: OffsetMap, nowMs: Int64,
                           stats: inout CleanedLog.Stats, isCancelled: () -> Bool) throws -> Int64 {
        let mtimes = try group.map { segment -> timespec in
            var st = stat()
            guard stat(segment.path.string, &st) == 0 else {
                throw Aborted(reason: "\(segment.path) disappeared while cleaning (deleted by retention?)")
            }
            return st.st_mtim
        }
        let cleaned = try LogSegment.create(directory: snapshot.directory, baseOffset: group[0].baseOffset, config: snapshot.config,
                                            nowMs: nowMs, fileSuffix: ".cleaned")
        defer { cleaned.closeHandles() }
        for segment in group {
            var reader = try BatchReader(segment)
            defer { reader.close() }
            while let (header, batch) = try reader.next() {
                if isCancelled() { throw Aborted(reason: "cancelled") }
                stats.batchesRead += 1
                stats.bytesRead += Int64(header.totalSize)
                guard RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: header) else {
                    throw StorageError.corrupt(path: segment.path.string, position: reader.position(of: header),
                                               reason: "CRC-32C mismatch in a batch being cleaned")
                }
                let out = try filter(batch, header: header, map: map, nowMs: nowMs, deleteRetentionMs: snapshot.config.deleteRetentionMs,
                                     groupEnd: group[group.count - 1].nextOffset, stats: &stats)
                guard let out else { stats.batchesDropped += 1; continue }
                let outHeader = RecordBatchHeader.peek(out, at: out.readerIndex)!
                if cleaned.indexIsFull {
                    throw Aborted(reason: "the cleaned segment's index is full (segment.index.bytes too small for the group)")
                }
                try cleaned.append(out, header: outHeader)
            }
        }
        try cleaned.makeInactive()
        let size = cleaned.sizeBytes
        cleaned.closeHandles()
        stats.bytesWritten += size
        var times = [mtimes[mtimes.count - 1], mtimes[mtimes.count - 1]]
        _ = utimensat(AT_FDCWD, cleaned.logPath.string, &times, 0)
        return size
    }

    /// The batch to write for `batch`: itself, a rebuilt batch with fewer records, an empty batch
    /// kept for its producer state or because it ends the group (`groupEnd`), or `nil` to drop it.
    static func filter(_ batch: ByteBuffer, header: RecordBatchHeader, map: OffsetMap, nowMs: Int64, deleteRetentionMs: Int64,
                       groupEnd: Int64, stats: inout CleanedLog.Stats) throws -> ByteBuffer? {
        if header.isControl { return batch }
        let records = try RecordBatchHeader.records(of: batch, maxUncompressedBytes: maxUncompressedBytes)
        let horizon: Int64? = header.attributes & deleteHorizonFlag != 0 ? header.baseTimestamp : nil
        var kept: [Record] = []
        var keptTombstone = false
        for record in records {
            let offset = header.baseOffset + Int64(record.offsetDelta)
            guard let key = record.key else { stats.keylessDropped += 1; continue }
            if let latest = map.latest[Array(key.readableBytesView)], latest > offset {
                stats.recordsSuperseded += 1
                continue
            }
            if record.value == nil {
                if let horizon, nowMs >= horizon {
                    stats.tombstonesDropped += 1
                    continue
                }
                keptTombstone = true
            }
            kept.append(record)
        }
        stats.recordsRead += records.count
        stats.recordsKept += kept.count
        let needsHorizon = keptTombstone && horizon == nil
        if kept.count == records.count && !needsHorizon { return batch }
        if kept.isEmpty {
            let lastOfProducer = header.producerID >= 0 && map.lastBatchOfProducer[header.producerID] == header.lastOffset
            guard lastOfProducer || header.nextOffset == groupEnd else { return nil }
            stats.batchesRewritten += 1
            return emptyBatch(like: header)
        }
        stats.batchesRewritten += 1
        return try rebuild(header: header, records: kept, deleteHorizon: needsHorizon ? nowMs + deleteRetentionMs : horizon)
    }

    /// `records` (a subset of the batch described by `header`) as a batch with the same identity.
    static func rebuild(header: RecordBatchHeader, records: [Record], deleteHorizon: Int64?) throws -> ByteBuffer {
        let timestamps = records.map { header.baseTimestamp + $0.timestampDelta }
        let baseTimestamp = deleteHorizon ?? timestamps[0]
        let maxTimestamp = header.isLogAppendTime ? header.maxTimestamp : (timestamps.max() ?? header.maxTimestamp)
        var body = ByteBuffer()
        for (record, timestamp) in zip(records, timestamps) {
            var copy = record
            copy.timestampDelta = timestamp - baseTimestamp
            copy.encode(to: &body)
        }
        guard let codec = CompressionCodec(rawValue: header.compressionCodecID) else {
            throw StorageError.corrupt(path: "", position: 0, reason: "unknown compression codec \(header.compressionCodecID)")
        }
        var attributes = header.attributes & ~deleteHorizonFlag
        if deleteHorizon != nil { attributes |= deleteHorizonFlag }
        var fields = header
        fields.attributes = attributes
        fields.baseTimestamp = baseTimestamp
        fields.maxTimestamp = maxTimestamp
        fields.recordsCount = Int32(records.count)
        return encode(fields, body: try codec.compress(body))
    }

    /// A batch without records that keeps `header`'s offsets and producer state (Kafka
    /// `DefaultRecordBatch.writeEmptyHeader`).
    static func emptyBatch(like header: RecordBatchHeader) -> ByteBuffer {
        var fields = header
        fields.attributes = header.attributes & ~(deleteHorizonFlag | 0x7)
        fields.baseTimestamp = -1
        fields.recordsCount = 0
        return encode(fields, body: ByteBuffer())
    }

    /// A v2 batch from header fields and the (possibly compressed) records section, with batchLength
    /// and CRC-32C computed.
    static func encode(_ h: RecordBatchHeader, body: ByteBuffer) -> ByteBuffer {
        RecordBatchHeader.encodeBatch(h, body: body)
    }

    // MARK: Reading segment files

    /// Calls `body` with every batch header of `segment` (positional reads of the headers only).
    static func forEachHeader(of segment: CleanerSnapshot.Segment, _ body: (RecordBatchHeader) throws -> Void) throws {
        let file = try SegmentFile.open(segment.path, create: false)
        defer { file.close() }
        var position: Int64 = 0
        while position < segment.sizeBytes {
            let bytes = try file.read(at: position, length: RecordBatchHeader.size)
            guard let header = RecordBatchHeader.peek(bytes, at: bytes.readerIndex),
                  header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
                  position + Int64(header.totalSize) <= segment.sizeBytes
            else { throw StorageError.corrupt(path: segment.path.string, position: position, reason: "unreadable batch header") }
            try body(header)
            position += Int64(header.totalSize)
        }
    }

    /// Reads the batches of a segment file front to back in large chunks.
    struct BatchReader {
        static let chunkBytes = 4 << 20
        let segment: CleanerSnapshot.Segment
        let file: SegmentFile
        private var chunk = ByteBuffer()
        private var chunkStart: Int64 = 0
        private var position: Int64 = 0

        init(_ segment: CleanerSnapshot.Segment) throws {
            self.segment = segment
            self.file = try SegmentFile.open(segment.path, create: false)
        }

        func close() { file.close() }

        /// The file position of the batch `header` came from (for error messages).
        func position(of header: RecordBatchHeader) -> Int64 { position - Int64(header.totalSize) }

        /// The next batch and its header, or `nil` at the end of the segment.
        mutating func next() throws -> (RecordBatchHeader, ByteBuffer)? {
            guard position < segment.sizeBytes else { return nil }
            if position + Int64(RecordBatchHeader.size) > chunkStart + Int64(chunk.readableBytes) {
                try fill(at: position, atLeast: RecordBatchHeader.size)
            }
            let at = chunk.readerIndex + Int(position - chunkStart)
            guard let header = RecordBatchHeader.peek(chunk, at: at),
                  header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
                  position + Int64(header.totalSize) <= segment.sizeBytes
            else { throw StorageError.corrupt(path: segment.path.string, position: position, reason: "unreadable batch header") }
            if position + Int64(header.totalSize) > chunkStart + Int64(chunk.readableBytes) {
                try fill(at: position, atLeast: header.totalSize)
            }
            let start = chunk.readerIndex + Int(position - chunkStart)
            guard let batch = chunk.getSlice(at: start, length: header.totalSize) else {
                throw StorageError.corrupt(path: segment.path.string, position: position, reason: "truncated batch")
            }
            position += Int64(header.totalSize)
            return (header, batch)
        }

        private mutating func fill(at offset: Int64, atLeast: Int) throws {
            let length = Int(min(Int64(max(Self.chunkBytes, atLeast)), segment.sizeBytes - offset))
            chunk = try file.read(at: offset, length: length)
            chunkStart = offset
            guard chunk.readableBytes >= min(atLeast, length) else {
                throw StorageError.corrupt(path: segment.path.string, position: offset, reason: "segment shorter than expected")
            }
        }
    }
}

import KafkaProtocol
import NIOCore
import SystemPackage


/// The raw contents of an index file.
public struct IndexFileContents<Entry: Sendable & Equatable>: Sendable, Equatable {
    /// Every whole entry in the file, trailing zero entries included.
    public var entries: [Entry]
    /// Bytes after the last whole entry (non-zero when the file size is not a multiple of the entry size).
    public var leftoverBytes: Int
}

/// The outcome of checking one index file against its segment.
public struct IndexCheckResult: Sendable, Equatable {
    /// `"index"` or `"timeindex"`.
    public var kind: String
    /// Entries that were checked (trailing zero entries excluded).
    public var entryCount: Int
    /// All-zero entries after the last real one: preallocated space of an active segment's index.
    public var trailingZeroEntries: Int
    /// Human-readable problems, in file order; empty when the index is consistent. At most
    /// ``SegmentIndexChecker/maxProblems`` plus one "… more problems" line.
    public var problems: [String]

    /// Whether no problems were found.
    public var isConsistent: Bool { problems.isEmpty }
}

/// Reads `.index` / `.timeindex` files and checks them against the batches of their segment.
///
/// Offset index (`.index`): every entry must name the byte position of a batch whose last
/// offset is base + relative offset; relative offsets and positions strictly increase; no
/// position lies at or past the end of the log. Time index (`.timeindex`): timestamps and offsets
/// never decrease; every offset lies inside the segment (segment base … last offset of its last
/// readable batch); no timestamp exceeds the largest batch max timestamp up to its offset.
///
/// All-zero entries after the last non-zero one are preallocated space (an active segment's
/// index) and are counted, not checked. An offset index that is all zeros keeps its first
/// entry as a real one when it is consistent (a batch at position 0 ending at the base offset).
public enum SegmentIndexChecker {
    /// One `.index` entry: 8 bytes, big-endian.
    public struct OffsetEntry: Sendable, Equatable {
        /// The indexed batch's last offset minus the segment base offset.
        public var relativeOffset: Int32
        /// Byte position of that batch's first byte in the `.log` file.
        public var position: Int32

        public init(relativeOffset: Int32, position: Int32) {
            self.relativeOffset = relativeOffset
            self.position = position
        }

        /// Bytes per entry.
        public static let size = 8
        var isZero: Bool { relativeOffset == 0 && position == 0 }
    }

    /// One `.timeindex` entry: 12 bytes, big-endian.
    public struct TimeEntry: Sendable, Equatable {
        /// Milliseconds since the epoch: the largest timestamp in the segment up to `relativeOffset`.
        public var timestamp: Int64
        /// Offset (minus the segment base offset) of the record or batch last offset that had it.
        public var relativeOffset: Int32

        public init(timestamp: Int64, relativeOffset: Int32) {
            self.timestamp = timestamp
            self.relativeOffset = relativeOffset
        }

        /// Bytes per entry.
        public static let size = 12
        var isZero: Bool { timestamp == 0 && relativeOffset == 0 }
    }

    /// Problems listed per index before the rest are summarised in one line.
    public static let maxProblems = 100

    /// What the checker needs to know about one batch.
    public struct BatchLocation: Sendable, Equatable {
        public var position: Int64
        public var baseOffset: Int64
        public var lastOffset: Int64
        /// Milliseconds since the epoch.
        public var maxTimestamp: Int64

        public init(position: Int64, baseOffset: Int64, lastOffset: Int64, maxTimestamp: Int64) {
            self.position = position
            self.baseOffset = baseOffset
            self.lastOffset = lastOffset
            self.maxTimestamp = maxTimestamp
        }

        /// The location of an inspected batch.
        public init(_ batch: SegmentInspector.Batch) {
            self.init(position: batch.position, baseOffset: batch.baseOffset, lastOffset: batch.lastOffset,
                      maxTimestamp: batch.maxTimestamp)
        }
    }

    /// Reads every 8-byte entry of an `.index` file.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the file cannot be read.
    public static func readOffsetIndex(path: String) throws -> IndexFileContents<OffsetEntry> {
        let bytes = try readWholeFile(path)
        var entries: [OffsetEntry] = []
        entries.reserveCapacity(bytes.readableBytes / OffsetEntry.size)
        var at = bytes.readerIndex
        while at + OffsetEntry.size <= bytes.writerIndex {
            entries.append(OffsetEntry(relativeOffset: bytes.getInteger(at: at, endianness: .big, as: Int32.self)!,
                                            position: bytes.getInteger(at: at + 4, endianness: .big, as: Int32.self)!))
            at += OffsetEntry.size
        }
        return IndexFileContents(entries: entries, leftoverBytes: bytes.writerIndex - at)
    }

    /// Reads every 12-byte entry of a `.timeindex` file.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the file cannot be read.
    public static func readTimeIndex(path: String) throws -> IndexFileContents<TimeEntry> {
        let bytes = try readWholeFile(path)
        var entries: [TimeEntry] = []
        entries.reserveCapacity(bytes.readableBytes / TimeEntry.size)
        var at = bytes.readerIndex
        while at + TimeEntry.size <= bytes.writerIndex {
            entries.append(TimeEntry(timestamp: bytes.getInteger(at: at, endianness: .big, as: Int64.self)!,
                                          relativeOffset: bytes.getInteger(at: at + 8, endianness: .big, as: Int32.self)!))
            at += TimeEntry.size
        }
        return IndexFileContents(entries: entries, leftoverBytes: bytes.writerIndex - at)
    }

    /// Number of entries to check: up to and including the last non-zero entry.
    static func realEntryCount<E>(_ entries: [E], isZero: (E) -> Bool) -> Int {
        (entries.lastIndex { !isZero($0) }).map { $0 + 1 } ?? 0
    }

    /// Checks an offset index against the segment's batches.
    /// - Parameters:
    ///   - index: the file's contents.
    ///   - segmentBaseOffset: the base offset from the segment's file name.
    ///   - batches: the segment's batches in file order.
    ///   - logSize: the `.log` file's size in bytes.
    ///   - scannedBytes: bytes at the start of the log that `batches` cover (``SegmentInspector/Summary/scannedBytes``;
    ///     `logSize` when the scan reached the end).
    public static func checkOffsetIndex(_ index: IndexFileContents<OffsetEntry>, segmentBaseOffset: Int64,
                                        batches: [BatchLocation], logSize: Int64, scannedBytes: Int64) -> IndexCheckResult {
        var problems = ProblemList()
        if index.leftoverBytes != 0 {
            problems.add("file size is not a multiple of \(OffsetEntry.size) (\(index.leftoverBytes) bytes left over)")
        }
        let entries = index.entries
        var count = realEntryCount(entries) { $0.isZero }
        if count == 0, !entries.isEmpty, let batch = batches.first,
           batch.position == 0, batch.lastOffset == segmentBaseOffset {
            count = 1  // a real (0, 0) entry, indistinguishable from preallocation otherwise
        }
        var previous: OffsetEntry?
        for i in 0..<count {
            let entry = entries[i]
            let offset = segmentBaseOffset &+ Int64(entry.relativeOffset)
            let what = "entry \(i) (offset \(offset), position \(entry.position))"
            if entry.relativeOffset < 0 {
                problems.add("\(what): negative relative offset \(entry.relativeOffset)")
            }
            if entry.position < 0 {
                problems.add("\(what): negative position")
            } else if Int64(entry.position) >= logSize {
                problems.add("\(what): position is past the end of the log (\(logSize) bytes)")
            } else if let batch = batch(at: Int64(entry.position), in: batches) {
                if batch.lastOffset != offset {
                    problems.add("\(what): the batch there ends at offset \(batch.lastOffset), not \(offset)")
                }
            } else if Int64(entry.position) >= scannedBytes {
                problems.add("\(what): position is past the last readable batch (log readable up to byte \(scannedBytes))")
            } else {
                problems.add("\(what): position is not the start of a batch")
            }
            if let previous {
                if entry.relativeOffset <= previous.relativeOffset {
                    problems.add("\(what): offset does not increase (previous entry has offset \(segmentBaseOffset &+ Int64(previous.relativeOffset)))")
                }
                if entry.position <= previous.position {
                    problems.add("\(what): position does not increase (previous entry has position \(previous.position))")
                }
            }
            previous = entry
        }
        return IndexCheckResult(kind: "index", entryCount: count, trailingZeroEntries: entries.count - count,
                                problems: problems.finish())
    }

    /// Checks a time index against the segment's batches.
    /// - Parameters:
    ///   - index: the file's contents.
    ///   - segmentBaseOffset: the base offset from the segment's file name.
    ///   - batches: the segment's batches in file order.
    ///   - logIsTruncated: the scan of the log ended at a framing error, so `batches` is only the
    ///     readable prefix (changes the wording of out-of-range problems).
    public static func checkTimeIndex(_ index: IndexFileContents<TimeEntry>, segmentBaseOffset: Int64,
                                      batches: [BatchLocation], logIsTruncated: Bool = false) -> IndexCheckResult {
        var problems = ProblemList()
        if index.leftoverBytes != 0 {
            problems.add("file size is not a multiple of \(TimeEntry.size) (\(index.leftoverBytes) bytes left over)")
        }
        let entries = index.entries
        let count = realEntryCount(entries) { $0.isZero }
        // Running maximum of batch max timestamps, for the "no later than any record so far" bound.
        var runningMax: [Int64] = []
        runningMax.reserveCapacity(batches.count)
        for batch in batches { runningMax.append(max(runningMax.last ?? Int64.min, batch.maxTimestamp)) }
        let lastOffset = batches.last?.lastOffset
        var previous: TimeEntry?
        for i in 0..<count {
            let entry = entries[i]
            let offset = segmentBaseOffset &+ Int64(entry.relativeOffset)
            let what = "entry \(i) (timestamp \(entry.timestamp), offset \(offset))"
            if entry.relativeOffset < 0 {
                problems.add("\(what): negative relative offset \(entry.relativeOffset)")
            } else if let lastOffset, offset <= lastOffset {
                // The last batch whose base offset is <= offset holds (or precedes) the offset.
                if let b = lastBatchIndex(startingAtOrBefore: offset, in: batches), entry.timestamp > runningMax[b] {
                    problems.add("\(what): timestamp is later than every batch up to that offset (max \(runningMax[b]))")
                }
            } else if logIsTruncated {
                let readable = lastOffset.map { "up to offset \($0)" } ?? "none"
                problems.add("\(what): offset is past the last readable batch (readable \(readable))")
            } else {
                let range = lastOffset.map { "\(segmentBaseOffset)...\($0)" } ?? "empty"
                problems.add("\(what): offset is outside the segment (\(range))")
            }
            if let previous {
                if entry.timestamp < previous.timestamp {
                    problems.add("\(what): timestamp decreases (previous entry has \(previous.timestamp))")
                }
                if entry.relativeOffset < previous.relativeOffset {
                    problems.add("\(what): offset decreases (previous entry has offset \(segmentBaseOffset &+ Int64(previous.relativeOffset)))")
                }
            }
            previous = entry
        }
        return IndexCheckResult(kind: "timeindex", entryCount: count, trailingZeroEntries: entries.count - count,
                                problems: problems.finish())
    }

    /// The batch starting exactly at `position` (batches are in ascending position order).
    static func batch(at position: Int64, in batches: [BatchLocation]) -> BatchLocation? {
        var lo = 0
        var hi = batches.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if batches[mid].position == position { return batches[mid] }
            if batches[mid].position < position { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    /// Index of the last batch with baseOffset <= `offset`.
    static func lastBatchIndex(startingAtOrBefore offset: Int64, in batches: [BatchLocation]) -> Int? {
        var lo = 0
        var hi = batches.count - 1
        var found: Int?
        while lo <= hi {
            let mid = (lo + hi) / 2
            if batches[mid].baseOffset <= offset { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }

    private struct ProblemList {
        var items: [String] = []
        var dropped = 0
        mutating func add(_ problem: String) {
            if items.count < SegmentIndexChecker.maxProblems { items.append(problem) } else { dropped += 1 }
        }
        func finish() -> [String] {
            dropped == 0 ? items : items + ["… \(dropped) more problems not shown"]
        }
    }

    private static func readWholeFile(_ path: String) throws -> ByteBuffer {
        var reader = try WindowedFileReader(path: FilePath(path))
        defer { reader.close() }
        return try reader.bytes(at: 0, length: Int(reader.size))
    }
}

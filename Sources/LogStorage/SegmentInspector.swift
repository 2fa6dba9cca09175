import KafkaProtocol
import NIOCore
import SystemPackage

/// A read-only, offline inspector of one segment file `<20-digit base offset>.log` (Kafka's
/// `kafka-dump-log.sh` / `DumpLogSegments`), used by `runnel log dump`.
///
/// It walks the record batches back to back from byte 0 and validates each one the way recovery
/// does: a full 61-byte header, magic 2, a batch length of at least the header, a whole batch
/// inside the file, a matching CRC-32C and base offsets that ascend (each batch starts at or after
/// the previous batch's last offset + 1, the first at or after the segment base offset). Every
/// problem is reported with its byte position and reason as a ``Corruption``; the first one is
/// where recovery would truncate the segment (``Summary/validBytes``).
///
/// A framing error (short header, bad magic, impossible length, batch past the end of the file)
/// ends the scan: nothing after it can be located. A batch whose framing is intact but whose CRC
/// does not match or whose offsets do not ascend is reported with ``Batch/problem`` set, and by
/// default the scan goes on with the next batch, as `kafka-dump-log.sh` does
/// (``Options/continuePastInvalidBatches``).
///
/// The inspector never writes and never traps on garbage: every length and offset read from the
/// file is checked before it is used. It reads with `pread` through a 1 MiB window, so memory use
/// is bounded by the largest batch (plus decoded records when ``Options/includeRecords`` is set).
public struct SegmentInspector: Sendable {
    /// What to decode besides the batch headers.
    public struct Options: Sendable, Equatable {
        /// Decode every record of every batch whose CRC matches (decompressing compressed batches) into
        /// ``Batch/records``.
        public var includeRecords: Bool
        /// Also keep each record's key and value as text (UTF-8, invalid sequences replaced by
        /// U+FFFD) in ``RecordInfo/key`` / ``RecordInfo/value``. Implies ``includeRecords``.
        public var includeData: Bool
        /// Upper bound, in bytes, on one batch's decompressed records section (against
        /// compression bombs). Default 64 MiB.
        public var maxUncompressedBytes: Int
        /// After a batch with intact framing but a CRC mismatch or non-ascending offsets, go on
        /// with the next batch (`true`, `kafka-dump-log.sh`'s behaviour) or stop there (`false`,
        /// recovery's view: only the valid prefix is reported).
        public var continuePastInvalidBatches: Bool

        /// - Parameters:
        ///   - includeRecords: decode records (see ``includeRecords``).
        ///   - includeData: keep keys and values as text (see ``includeData``).
        ///   - maxUncompressedBytes: bytes one batch may decompress to.
        ///   - continuePastInvalidBatches: see ``continuePastInvalidBatches``.
        public init(includeRecords: Bool = false, includeData: Bool = false, maxUncompressedBytes: Int = 64 << 20,
                    continuePastInvalidBatches: Bool = true) {
            self.includeRecords = includeRecords || includeData
            self.includeData = includeData
            self.maxUncompressedBytes = maxUncompressedBytes
            self.continuePastInvalidBatches = continuePastInvalidBatches
        }
    }

    /// One record of a batch, as `runnel log dump --records` prints it.
    public struct RecordInfo: Sendable, Equatable {
        /// Absolute offset: the batch's base offset + the record's offset delta.
        public var offset: Int64
        /// Milliseconds since the epoch: the batch's base timestamp + the record's delta, or the
        /// batch's max timestamp for a LogAppendTime batch (as Kafka reports it).
        public var timestamp: Int64
        /// Key length in bytes, -1 for a null key.
        public var keySize: Int
        /// Value length in bytes, -1 for a null value (a tombstone).
        public var valueSize: Int
        /// The producer sequence of this record: the batch's base sequence + offset delta
        /// (wrapping past `Int32.max` to 0), or -1 when the batch has none.
        public var sequence: Int32
        /// The keys of the record's headers, in order.
        public var headerKeys: [String]
        /// The key as lossy UTF-8 text, only with ``Options/includeData``; `nil` when not
        /// requested or the key is null.
        public var key: String?
        /// The value as lossy UTF-8 text, only with ``Options/includeData``; `nil` when not
        /// requested or the value is null.
        public var value: String?

        /// Number of record headers.
        public var headerCount: Int { headerKeys.count }
    }

    /// One record batch whose framing is intact (a full header, magic 2, a length inside the
    /// file): its header fields, where it sits, its checksum, and its ``problem`` if it is invalid.
    public struct Batch: Sendable, Equatable {
        /// Byte position of the batch's first byte in the `.log` file.
        public var position: Int64
        /// Offset of the first record.
        public var baseOffset: Int64
        /// Offset of the last record (base offset + lastOffsetDelta).
        public var lastOffset: Int64
        /// `recordsCount` of the header (may be below `lastOffset - baseOffset + 1` after compaction).
        public var recordCount: Int32
        /// Whole batch size in bytes (batchLength + 12).
        public var sizeBytes: Int
        public var partitionLeaderEpoch: Int32
        /// Always 2 for a batch the inspector accepts.
        public var magic: Int8
        /// Raw attributes int16 (codec in bits 0-2, timestamp type bit 3, transactional bit 4, control bit 5).
        public var attributes: Int16
        /// Milliseconds since the epoch of the first record.
        public var baseTimestamp: Int64
        /// Milliseconds since the epoch: the largest record timestamp (or the append time).
        public var maxTimestamp: Int64
        public var producerID: Int64
        public var producerEpoch: Int16
        /// -1 when the producer is not idempotent.
        public var baseSequence: Int32
        /// The CRC-32C stored at byte 17 of the batch.
        public var storedCRC: UInt32
        /// The CRC-32C computed over bytes 21..end of the batch.
        public var computedCRC: UInt32
        /// Decoded records (only with ``Options/includeRecords``, for a batch whose CRC matches,
        /// when decoding succeeded).
        public var records: [RecordInfo]?
        /// Why the records could not be decoded (only with ``Options/includeRecords``).
        public var recordsError: String?
        /// Why the batch is invalid (CRC mismatch, offsets not ascending); `nil` for a valid batch.
        public var problem: CorruptionReason?

        /// Whether the batch passed every check.
        public var isValid: Bool { problem == nil }

        /// Whether the stored CRC matches the computed one.
        public var crcMatches: Bool { storedCRC == computedCRC }
        /// Attribute bits 0-2: the compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
        public var codecID: Int16 { attributes & 0x7 }
        /// The codec's Kafka name (`none`, `gzip`, `snappy`, `lz4`, `zstd`), or `unknown(N)`.
        public var codecName: String { CompressionCodec(rawValue: codecID)?.name ?? "unknown(\(codecID))" }
        /// Attribute bit 3: timestamps are LogAppendTime rather than CreateTime.
        public var isLogAppendTime: Bool { attributes & 0x8 != 0 }
        /// `"LogAppendTime"` or `"CreateTime"`, as Kafka labels the timestamp.
        public var timestampType: String { isLogAppendTime ? "LogAppendTime" : "CreateTime" }
        /// Attribute bit 4.
        public var isTransactional: Bool { attributes & 0x10 != 0 }
        /// Attribute bit 5: a control batch (transaction marker).
        public var isControl: Bool { attributes & 0x20 != 0 }
        /// The sequence of the last record (base sequence + lastOffsetDelta, wrapping past
        /// `Int32.max`), or -1 when the batch has none.
        public var lastSequence: Int32 {
            SegmentInspector.sequence(baseSequence, plus: lastOffset &- baseOffset)
        }
        /// First byte after the batch.
        public var endPosition: Int64 { position + Int64(sizeBytes) }
    }

    /// Why the scan stopped before the end of the file.
    public enum CorruptionReason: Sendable, Equatable, CustomStringConvertible {
        /// Fewer than 61 bytes are left at the position (`available` bytes).
        case shortHeader(available: Int64)
        /// The magic byte is not 2.
        case badMagic(Int8)
        /// The batch length field is below the 49 bytes of header it must cover.
        case batchLengthTooSmall(Int32)
        /// lastOffsetDelta is negative.
        case negativeLastOffsetDelta(Int32)
        /// The batch (`size` bytes) runs past the end of the file (`available` bytes left).
        case lengthPastEndOfFile(size: Int, available: Int64)
        /// The stored CRC-32C does not match the batch's bytes.
        case crcMismatch(stored: UInt32, computed: UInt32)
        /// The batch's base offset is below the previous batch's last offset + 1.
        case offsetsNotAscending(baseOffset: Int64, expectedAtLeast: Int64)
        /// The first batch's base offset is below the segment's base offset (from the file name).
        case offsetBelowSegmentBase(baseOffset: Int64, segmentBaseOffset: Int64)
        /// base offset + lastOffsetDelta does not fit an Int64.
        case offsetOverflow(baseOffset: Int64)

        /// A one-line explanation, e.g. `CRC-32C mismatch (stored 123, computed 456)`.
        public var description: String {
            switch self {
            case .shortHeader(let n):
                return "short batch header (\(n) bytes left, a header is \(RecordBatchHeader.size))"
            case .badMagic(let m): return "bad magic \(m) (expected 2)"
            case .batchLengthTooSmall(let l):
                return "batch length \(l) is below the header size \(RecordBatchHeader.size - RecordBatchHeader.logOverhead)"
            case .negativeLastOffsetDelta(let d): return "negative lastOffsetDelta \(d)"
            case .lengthPastEndOfFile(let size, let available):
                return "batch of \(size) bytes runs past the end of the file (\(available) bytes left)"
            case .crcMismatch(let stored, let computed): return "CRC-32C mismatch (stored \(stored), computed \(computed))"
            case .offsetsNotAscending(let base, let expected):
                return "offsets not ascending (base offset \(base), expected at least \(expected))"
            case .offsetBelowSegmentBase(let base, let segmentBase):
                return "base offset \(base) is below the segment base offset \(segmentBase)"
            case .offsetOverflow(let base): return "last offset of batch at base offset \(base) overflows"
            }
        }
    }

    /// An invalid position of a segment and why.
    public struct Corruption: Sendable, Equatable, CustomStringConvertible {
        /// Byte position in the `.log` file where the invalid batch (or garbage) starts.
        public var position: Int64
        public var reason: CorruptionReason
        /// The batch at `position` when its header and bytes were readable (CRC mismatch,
        /// offsets not ascending), so it can still be shown (`isvalid: false`).
        public var batch: Batch?

        public init(position: Int64, reason: CorruptionReason, batch: Batch? = nil) {
            self.position = position
            self.reason = reason
            self.batch = batch
        }

        /// `corrupt batch at position P: <reason>`.
        public var description: String { "corrupt batch at position \(position): \(reason)" }
    }

    /// Totals of one scan.
    public struct Summary: Sendable, Equatable {
        /// Size of the `.log` file in bytes.
        public var fileSize: Int64
        /// Batches read (passed to the `inspect` closure), invalid ones included.
        public var batchCount: Int
        /// Batches read whose ``Batch/problem`` is set.
        public var invalidBatchCount: Int
        /// Sum of the `recordsCount` of the batches read.
        public var recordCount: Int64
        /// Bytes before the first invalid position: where recovery would truncate the segment
        /// (`fileSize` when the whole file is valid).
        public var validBytes: Int64
        /// Bytes covered by the batches read: where the scan ended.
        public var scannedBytes: Int64
        /// Batches whose records could not be decoded (only with ``Options/includeRecords``).
        public var undecodableBatches: Int
        /// Every problem found, in file order: invalid batches, then the framing error that ended
        /// the scan, if any. Empty when the whole file is valid.
        public var corruptions: [Corruption]

        /// The first invalid position and why; `nil` when the whole file is valid.
        public var corruption: Corruption? { corruptions.first }
        /// The framing error that ended the scan before the end of the file, if any.
        public var scanStop: Corruption? { scannedBytes < fileSize ? corruptions.last : nil }

        public init(fileSize: Int64, batchCount: Int = 0, invalidBatchCount: Int = 0, recordCount: Int64 = 0,
                    validBytes: Int64 = 0, scannedBytes: Int64 = 0, undecodableBatches: Int = 0,
                    corruptions: [Corruption] = []) {
            self.fileSize = fileSize
            self.batchCount = batchCount
            self.invalidBatchCount = invalidBatchCount
            self.recordCount = recordCount
            self.validBytes = validBytes
            self.scannedBytes = scannedBytes
            self.undecodableBatches = undecodableBatches
            self.corruptions = corruptions
        }
    }

    /// A whole scan: the summary and every batch read.
    public struct Report: Sendable, Equatable {
        public var summary: Summary
        public var batches: [Batch]
    }

    /// Path of the `.log` file.
    public let path: String
    /// What to decode.
    public let options: Options

    /// - Parameters:
    ///   - path: a segment `.log` file.
    ///   - options: what to decode besides headers.
    public init(path: String, options: Options = Options()) {
        self.path = path
        self.options = options
    }

    /// The base offset in a segment (or index) file name: the 20-digit prefix of
    /// `00000000000000001234.log` → 1234; `nil` if the name does not start with digits and a dot.
    public static func baseOffset(fromFileName name: String) -> Int64? {
        guard let dot = name.firstIndex(of: "."), dot != name.startIndex else { return nil }
        let digits = name[..<dot]
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }

    /// The segment's base offset, from the file name.
    public var segmentBaseOffset: Int64? {
        FilePath(path).lastComponent.flatMap { Self.baseOffset(fromFileName: $0.string) }
    }

    /// Scans the segment and calls `body` with each batch whose framing is intact, in file order
    /// (invalid ones have ``Batch/problem`` set).
    /// - Returns: the totals and every problem found.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the file cannot be opened or read;
    ///   whatever `body` throws.
    public func inspect(_ body: (Batch) throws -> Void) throws -> Summary {
        var reader = try WindowedFileReader(path: FilePath(path))
        defer { reader.close() }
        let fileSize = reader.size
        var summary = Summary(fileSize: fileSize)
        let segmentBase = segmentBaseOffset
        var expectedNext: Int64? = nil
        var position: Int64 = 0
        while position < fileSize {
            let available = fileSize - position
            func stop(_ reason: CorruptionReason) {
                summary.corruptions.append(Corruption(position: position, reason: reason))
            }
            let head = try reader.bytes(at: position, length: Int(min(Int64(RecordBatchHeader.size), available)))
            if head.readableBytes > RecordBatchHeader.Field.magic,
               let magic = head.getInteger(at: head.readerIndex + RecordBatchHeader.Field.magic, as: Int8.self), magic != 2 {
                stop(.badMagic(magic)); break
            }
            guard head.readableBytes >= RecordBatchHeader.size,
                  let header = RecordBatchHeader.peek(head, at: head.readerIndex)
            else { stop(.shortHeader(available: Int64(head.readableBytes))); break }
            guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
                stop(.batchLengthTooSmall(header.batchLength)); break
            }
            guard header.lastOffsetDelta >= 0 else { stop(.negativeLastOffsetDelta(header.lastOffsetDelta)); break }
            let (lastOffset, overflow) = header.baseOffset.addingReportingOverflow(Int64(header.lastOffsetDelta))
            guard !overflow, lastOffset < Int64.max else { stop(.offsetOverflow(baseOffset: header.baseOffset)); break }
            let size = header.totalSize
            guard Int64(size) <= available else { stop(.lengthPastEndOfFile(size: size, available: available)); break }
            let bytes = try reader.bytes(at: position, length: size)
            guard bytes.readableBytes == size else {  // the file shrank under us
                stop(.lengthPastEndOfFile(size: size, available: Int64(bytes.readableBytes))); break
            }
            let computed = bytes.withUnsafeReadableBytes {
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes...]))
            }
            var batch = Batch(
                position: position, baseOffset: header.baseOffset, lastOffset: lastOffset,
                recordCount: header.recordsCount, sizeBytes: size, partitionLeaderEpoch: header.partitionLeaderEpoch,
                magic: header.magic, attributes: header.attributes, baseTimestamp: header.baseTimestamp,
                maxTimestamp: header.maxTimestamp, producerID: header.producerID, producerEpoch: header.producerEpoch,
                baseSequence: header.baseSequence, storedCRC: header.crc, computedCRC: computed,
                records: nil, recordsError: nil, problem: nil)
            if !batch.crcMatches {
                batch.problem = .crcMismatch(stored: header.crc, computed: computed)
            } else if let expected = expectedNext {
                if header.baseOffset < expected {
                    batch.problem = .offsetsNotAscending(baseOffset: header.baseOffset, expectedAtLeast: expected)
                }
            } else if let segmentBase, header.baseOffset < segmentBase {
                batch.problem = .offsetBelowSegmentBase(baseOffset: header.baseOffset, segmentBaseOffset: segmentBase)
            }
            if let problem = batch.problem {
                summary.corruptions.append(Corruption(position: position, reason: problem, batch: batch))
                if !options.continuePastInvalidBatches { break }
                summary.invalidBatchCount += 1
            }
            if options.includeRecords && batch.crcMatches {
                do {
                    batch.records = try decodeRecords(bytes, batch: batch)
                } catch {
                    batch.recordsError = "\(error)"
                    summary.undecodableBatches += 1
                }
            }
            try body(batch)
            summary.batchCount += 1
            summary.recordCount += Int64(max(0, header.recordsCount))
            position += Int64(size)
            summary.scannedBytes = position
            if summary.corruptions.isEmpty { summary.validBytes = position }
            expectedNext = max(expectedNext ?? Int64.min, lastOffset + 1)
        }
        return summary
    }

    /// Scans the whole segment and collects every batch read.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when the file cannot be opened or read.
    public func inspect() throws -> Report {
        var batches: [Batch] = []
        let summary = try inspect { batches.append($0) }
        return Report(summary: summary, batches: batches)
    }

    private func decodeRecords(_ bytes: ByteBuffer, batch: Batch) throws -> [RecordInfo] {
        let records = try RecordBatchHeader.records(of: bytes, maxUncompressedBytes: options.maxUncompressedBytes)
        return records.map { record in
            func text(_ buffer: ByteBuffer?) -> String? {
                guard options.includeData, let buffer else { return nil }
                return String(decoding: buffer.readableBytesView, as: UTF8.self)
            }
            return RecordInfo(
                offset: batch.baseOffset &+ Int64(record.offsetDelta),
                timestamp: batch.isLogAppendTime ? batch.maxTimestamp : batch.baseTimestamp &+ record.timestampDelta,
                keySize: record.key?.readableBytes ?? -1,
                valueSize: record.value?.readableBytes ?? -1,
                sequence: Self.sequence(batch.baseSequence, plus: Int64(record.offsetDelta)),
                headerKeys: record.headers.map(\.key),
                key: text(record.key), value: text(record.value))
        }
    }

    /// `base + delta` the way Kafka's `DefaultRecordBatch.incrementSequence` wraps at `Int32.max`;
    /// -1 stays -1 (no sequence).
    static func sequence(_ base: Int32, plus delta: Int64) -> Int32 {
        guard base >= 0 else { return -1 }
        let sum = (Int64(base) + max(0, min(delta, Int64(Int32.max)))) % (Int64(Int32.max) + 1)
        return Int32(sum)
    }
}

// MARK: - Index files

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

// MARK: - File reading

/// Read-only `pread` access to a file through a cached window of at least 1 MiB.
private struct WindowedFileReader {
    static let windowBytes = 1 << 20
    let path: FilePath
    let descriptor: SystemPackage.FileDescriptor
    let size: Int64
    private var windowStart: Int64 = 0
    private var window = ByteBuffer()

    init(path: FilePath) throws {
        self.path = path
        do {
            descriptor = try SystemPackage.FileDescriptor.open(path, .readOnly, retryOnInterrupt: true)
        } catch let errno as Errno {
            throw StorageError.io(operation: "open", path: path.string, errno: errno)
        }
        do {
            size = try descriptor.seek(offset: 0, from: .end)
        } catch let errno as Errno {
            try? descriptor.close()
            throw StorageError.io(operation: "seek", path: path.string, errno: errno)
        }
    }

    /// Up to `length` bytes at `position`, fewer at the end of the file; reader index 0.
    mutating func bytes(at position: Int64, length: Int) throws -> ByteBuffer {
        guard length > 0 else { return ByteBuffer() }
        let windowEnd = windowStart + Int64(window.readableBytes)
        if position >= windowStart, position + Int64(length) <= windowEnd {
            return window.getSlice(at: Int(position - windowStart), length: length)!
        }
        let want = max(length, Self.windowBytes)
        window = try read(at: position, length: Int(min(Int64(want), max(0, size - position))))
        windowStart = position
        return window.getSlice(at: 0, length: min(length, window.readableBytes))!
    }

    private func read(at position: Int64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        guard length > 0 else { return buffer }
        do {
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
                var total = 0
                while total < length {
                    let slice = UnsafeMutableRawBufferPointer(rebasing: raw[total..<length])
                    let n = try descriptor.read(fromAbsoluteOffset: position + Int64(total), into: slice,
                                                retryOnInterrupt: true)
                    if n == 0 { break }
                    total += n
                }
                return total
            }
        } catch let errno as Errno {
            throw StorageError.io(operation: "read", path: path.string, errno: errno)
        }
        return buffer
    }

    func close() { try? descriptor.close() }
}

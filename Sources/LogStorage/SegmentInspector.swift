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

import KafkaProtocol
import NIOCore
import SystemPackage

/// One segment of a partition log: `<20-digit base offset>.log`, record batches back to back
/// exactly as stored on the wire (base offset and partition leader epoch assigned by the broker).
///
/// The sparse offset index is kept in memory for now: one entry per `index.interval.bytes` of
/// appended data, mapping a batch's base offset to its byte position, rebuilt by a scan on open.
/// (The memory-mapped `.index`/`.timeindex` files of Kafka's layout replace it with the storage
/// engine issue; lookups go through ``position(of:)`` so callers do not change.)
final class LogSegment {
    struct IndexEntry {
        var baseOffset: Int64
        var position: Int64
    }

    let baseOffset: Int64
    let file: SegmentFile
    private(set) var sizeBytes: Int64
    /// Offset after the last batch in this segment (== baseOffset when empty).
    private(set) var nextOffset: Int64
    /// Largest batch maxTimestamp in the segment, -1 when empty.
    private(set) var maxTimestamp: Int64 = -1
    private var index: [IndexEntry] = []
    private var bytesSinceLastIndexEntry = 0
    let indexIntervalBytes: Int

    /// File name of a segment: the base offset zero-padded to 20 digits (Kafka `LogFileUtils`).
    static func fileName(baseOffset: Int64, suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    private init(baseOffset: Int64, file: SegmentFile, indexIntervalBytes: Int) {
        self.baseOffset = baseOffset
        self.file = file
        self.sizeBytes = 0
        self.nextOffset = baseOffset
        self.indexIntervalBytes = indexIntervalBytes
    }

    /// Creates an empty segment file.
    static func create(directory: FilePath, baseOffset: Int64, indexIntervalBytes: Int) throws -> LogSegment {
        let path = directory.appending(fileName(baseOffset: baseOffset, suffix: ".log"))
        let file = try SegmentFile.open(path, create: true)
        try file.truncate(to: 0)
        syncDirectory(directory)
        return LogSegment(baseOffset: baseOffset, file: file, indexIntervalBytes: indexIntervalBytes)
    }

    /// Opens an existing segment and validates it batch by batch (length, magic, CRC-32C, offsets
    /// ascending). The file is truncated at the first invalid byte.
    /// - Returns: the segment and the number of bytes cut off (0 when the file was whole).
    static func recover(path: FilePath, baseOffset: Int64, indexIntervalBytes: Int) throws -> (LogSegment, truncatedBytes: Int64) {
        let file = try SegmentFile.open(path, create: false)
        let segment = LogSegment(baseOffset: baseOffset, file: file, indexIntervalBytes: indexIntervalBytes)
        let fileSize = try file.size()
        var position: Int64 = 0
        let chunkBytes = 8 << 20
        scan: while position < fileSize {
            var chunk = try file.read(at: position, length: Int(min(Int64(chunkBytes), fileSize - position)))
            var consumed = 0
            // Set when an invalid byte is found; the valid batches before it in this chunk are
            // still counted (position += consumed) so the cut lands right after them.
            var invalid = false
            while true {
                let at = chunk.readerIndex + consumed
                guard let header = RecordBatchHeader.peek(chunk, at: at) else {
                    if consumed == 0 { invalid = true }  // no valid header at this position
                    break
                }
                guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
                      header.baseOffset >= segment.nextOffset, header.lastOffsetDelta >= 0
                else { invalid = true; break }
                if at + header.totalSize > chunk.writerIndex {
                    if consumed > 0 { break }  // re-read from this batch
                    if position + Int64(header.totalSize) > fileSize { invalid = true; break }  // torn tail
                    chunk = try file.read(at: position, length: header.totalSize)
                    guard chunk.readableBytes == header.totalSize else { invalid = true; break }
                }
                guard RecordBatchHeader.crcMatches(chunk, at: chunk.readerIndex + consumed, header: header) else { invalid = true; break }
                segment.noteAppended(header: header, position: position + Int64(consumed))
                consumed += header.totalSize
                if chunk.readerIndex + consumed >= chunk.writerIndex { break }
            }
            position += Int64(consumed)
            if invalid { break scan }
        }
        let truncated = fileSize - position
        if truncated > 0 { try file.truncate(to: position) }
        return (segment, truncated)
    }

    private func noteAppended(header: RecordBatchHeader, position: Int64) {
        if index.isEmpty || bytesSinceLastIndexEntry >= indexIntervalBytes {
            index.append(IndexEntry(baseOffset: header.baseOffset, position: position))
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.totalSize
        sizeBytes = position + Int64(header.totalSize)
        nextOffset = header.nextOffset
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
    }

    /// Appends one batch whose base offset is already assigned.
    func append(_ batch: ByteBuffer, header: RecordBatchHeader) throws {
        let position = sizeBytes
        try file.write(batch, at: position)
        noteAppended(header: header, position: position)
    }

    /// The byte position of the batch that contains `offset`, or `nil` if no batch in this
    /// segment has a last offset at or after it.
    func position(of offset: Int64) throws -> Int64? {
        guard offset < nextOffset else { return nil }
        // Greatest index entry with baseOffset <= offset, then scan batch headers forward.
        var lo = 0
        var hi = index.count - 1
        var start: Int64 = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if index[mid].baseOffset <= offset {
                start = index[mid].position
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        var position = start
        while position < sizeBytes {
            let bytes = try file.read(at: position, length: RecordBatchHeader.size)
            guard let header = RecordBatchHeader.peek(bytes, at: bytes.readerIndex) else {
                throw StorageError.corrupt(path: file.path.string, position: position, reason: "unreadable batch header")
            }
            if header.lastOffset >= offset { return position }
            position += Int64(header.totalSize)
        }
        return nil
    }

    /// Reads up to `length` bytes starting at byte `position`.
    func read(at position: Int64, length: Int) throws -> ByteBuffer {
        try file.read(at: position, length: Int(min(Int64(length), sizeBytes - position)))
    }

    func flush() throws { try file.sync() }
    func close() { file.close() }
}

import KafkaProtocol
import NIOCore

extension Log {
    /// Reads whole record batches starting with the batch that contains `offset` (Kafka
    /// `LogSegment.read`, KIP-74).
    ///
    /// - Parameters:
    ///   - offset: the fetch offset; must be within [logStartOffset, logEndOffset].
    ///   - maxBytes: byte budget; the first batch is returned even if larger (KIP-74), later
    ///     batches only while they fit.
    ///   - upperBound: batches starting at or after this offset are not returned (the high watermark
    ///     for consumers, the log end offset for replicas).
    /// - Returns: the batches' bytes, possibly empty.
    /// - Throws: ``StorageError/offsetOutOfRange(requested:logStartOffset:logEndOffset:)``,
    ///   ``StorageError/logDirectoryOffline(path:reason:)`` or I/O errors (which may take the
    ///   directory offline, ``LogDirectoryHealth``).
    public func read(from offset: Int64, maxBytes: Int, upperBound: Int64) throws -> ByteBuffer {
        try directoryHealth?.checkRead()
        return try reportingFailures { try readChecked(from: offset, maxBytes: maxBytes, upperBound: upperBound) }
    }

    /// As ``read(from:maxBytes:upperBound:)``, for sending the batches as they are stored: a range
    /// of at least `fileAtLeast` bytes whose pages are all in the page cache comes back as
    /// ``FileRecords`` (sent with `sendfile`, never copied into the process); anything else, or
    /// when the descriptor cannot be duplicated, is read into a buffer. The batches are the same
    /// either way; only their headers are read to find them.
    /// - Parameter fileAtLeast: the smallest range returned as a file (bytes); below it one `pread`
    ///   costs less than the descriptor and the extra write.
    /// - Throws: as ``read(from:maxBytes:upperBound:)``.
    public func readForSending(from offset: Int64, maxBytes: Int, upperBound: Int64, fileAtLeast: Int) throws -> StoredRecords {
        try directoryHealth?.checkRead()
        return try reportingFailures {
            guard let (segment, position, bound) = try locate(offset, upperBound: upperBound) else { return .bytes(ByteBuffer()) }
            let range = try segment.batchRange(at: position, maxBytes: maxBytes, upperBound: bound)
            if range.byteCount == 0 { return .bytes(ByteBuffer()) }
            if range.byteCount >= fileAtLeast, try segment.isCached(range), let file = try? segment.fileRecords(range) {
                return .file(file)
            }
            return .bytes(try segment.read(at: position, length: range.byteCount))
        }
    }

    private func readChecked(from offset: Int64, maxBytes: Int, upperBound: Int64) throws -> ByteBuffer {
        guard let (segment, position, bound) = try locate(offset, upperBound: upperBound) else { return ByteBuffer() }
        return try readBatches(segment: segment, position: position, maxBytes: maxBytes, upperBound: bound)
    }

    /// The segment and byte position of the batch containing `offset`, and the bound reads stop
    /// at (`upperBound`, lowered to the first corrupt range); nil when nothing can be read.
    /// - Throws: ``StorageError/offsetOutOfRange(requested:logStartOffset:logEndOffset:)``.
    private func locate(_ offset: Int64, upperBound: Int64) throws -> (LogSegment, Int64, Int64)? {
        guard offset >= logStartOffset, offset <= logEndOffset else {
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        }
        guard offset < upperBound else { return nil }
        let upperBound = corruptions.isEmpty ? upperBound : try servableBound(from: offset, upperBound: upperBound)
        guard offset < upperBound else { return nil }
        var index = segmentIndex(containing: offset)
        while index < segments.count {
            let segment = segments[index]
            touch(segment)
            if let position = try segment.position(of: offset) { return (segment, position, upperBound) }
            index += 1
        }
        return nil
    }

    /// Index of the segment with the greatest base offset at or below `offset` (0 if none).
    func segmentIndex(containing offset: Int64) -> Int {
        var lo = 0
        var hi = segments.count - 1
        var found = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if segments[mid].baseOffset <= offset {
                found = mid
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        return found
    }

    private func readBatches(segment: LogSegment, position: Int64, maxBytes: Int, upperBound: Int64) throws -> ByteBuffer {
        let want = max(maxBytes, RecordBatchHeader.size)
        var chunk = try segment.read(at: position, length: want)
        guard let first = RecordBatchHeader.peek(chunk, at: chunk.readerIndex) else {
            throw StorageError.corrupt(path: segment.logPath.string, position: position, reason: "unreadable batch header")
        }
        if first.baseOffset >= upperBound { return ByteBuffer() }
        if first.totalSize > chunk.readableBytes {
            // KIP-74: the first batch goes out whole even when it is larger than the budget.
            return try segment.read(at: position, length: first.totalSize)
        }
        var end = chunk.readerIndex
        while let header = RecordBatchHeader.peek(chunk, at: end),
              header.baseOffset < upperBound,
              end + header.totalSize <= chunk.writerIndex {
            end += header.totalSize
        }
        chunk.moveWriterIndex(to: end)
        return chunk
    }

    /// Every batch header in offset order from the segment containing `offset`, read from disk
    /// without the record bodies; `body(header, segment, position)` returns false to stop.
    func forEachBatch(from offset: Int64, _ body: (RecordBatchHeader, LogSegment, Int64) throws -> Bool) throws {
        for segment in segments[segmentIndex(containing: offset)...] where segment.nextOffset > offset {
            touch(segment)
            var position: Int64 = try segment.position(of: max(offset, segment.baseOffset)) ?? segment.sizeBytes
            while position < segment.sizeBytes {
                let header = try segment.header(at: position)
                if try !body(header, segment, position) { return }
                position += Int64(header.totalSize)
            }
        }
    }

    /// The whole batch whose header was seen at `position` of `segment`.
    func batchBytes(segment: LogSegment, position: Int64, header: RecordBatchHeader) throws -> ByteBuffer {
        try segment.read(at: position, length: header.totalSize)
    }
}

/// Record batches read for sending: in memory, or left in their segment file.
public enum StoredRecords {
    case bytes(ByteBuffer)
    case file(FileRecords)
}

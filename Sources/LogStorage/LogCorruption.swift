import KafkaProtocol
import NIOCore
import SystemPackage

/// A range of offsets whose stored bytes failed verification: found by the background scrubber
/// (``SegmentScrubber``) re-reading a closed segment. The log stops serving it
/// (``Log/read(from:maxBytes:upperBound:)`` ends before it and refuses reads inside it with
/// KAFKA_STORAGE_ERROR) until it is truncated away and fetched again from a healthy replica.
public struct LogCorruption: Sendable, Equatable, CustomStringConvertible {
    /// The offsets that cannot be trusted: from the end of the last good batch to the end of the
    /// corrupt batch, or to the end of its segment when the batch's own length or offsets are
    /// unreadable (the CRC-32C does not cover them).
    public var offsets: Range<Int64>
    /// The segment file and the byte position of the first bad batch in it.
    public var segmentPath: String
    public var position: Int64
    /// What failed: CRC-32C, magic, length or offset order.
    public var reason: String

    public init(offsets: Range<Int64>, segmentPath: String, position: Int64, reason: String) {
        self.offsets = offsets
        self.segmentPath = segmentPath
        self.position = position
        self.reason = reason
    }

    public var description: String {
        "offsets [\(offsets.lowerBound), \(offsets.upperBound)) in \(segmentPath) at byte \(position): \(reason)"
    }
}

/// A closed segment the scrubber may read: its file, offsets and size when it was listed.
public struct ScrubTarget: Sendable, Equatable {
    public var path: FilePath
    public var baseOffset: Int64
    /// The offset after the segment's last batch (the next segment's base offset).
    public var endOffset: Int64
    public var sizeBytes: Int64
}

/// Re-reads closed segments and checks every record batch as recovery does (length, magic 2,
/// ascending offsets, CRC-32C over attributes..end), a bounded number of bytes per call so the
/// caller can pace it (`runnel.log.scrub.bytes.per.second`). It reads through its own file
/// descriptor, never the log's, so it can run off the partition's actor; a segment deleted
/// meanwhile (retention, compaction) ends its scan with ``Step/gone``.
public enum SegmentScrubber {
    /// Where a scan of one segment stands.
    public struct Cursor: Sendable, Equatable {
        /// Byte position of the next batch to check.
        public var position: Int64 = 0
        /// The offset the next batch must start at or after.
        public var nextOffset: Int64

        public init(target: ScrubTarget) { nextOffset = target.baseOffset }

        public init(position: Int64, nextOffset: Int64) {
            self.position = position
            self.nextOffset = nextOffset
        }
    }

    /// The outcome of one ``verify(_:from:maxBytes:)`` call.
    public enum Step: Sendable, Equatable {
        /// Every batch read so far is sound; continue from `cursor`. `bytesRead` is what the call read.
        case progress(Cursor, bytesRead: Int)
        /// The segment was read to its end and is sound.
        case finished(bytesRead: Int)
        /// A bad batch; continue from `cursor` when it is not nil (the bad batch could be skipped).
        case corrupt(LogCorruption, resumeAt: Cursor?, bytesRead: Int)
        /// The file is gone (the segment was deleted or replaced since it was listed).
        case gone
    }

    /// Checks whole batches from `cursor` until about `maxBytes` bytes are read or the segment ends.
    /// - Throws: I/O errors other than a missing file.
    public static func verify(_ target: ScrubTarget, from cursor: Cursor, maxBytes: Int) throws -> Step {
        let fd: SystemPackage.FileDescriptor
        do {
            fd = try SystemPackage.FileDescriptor.open(target.path, .readOnly, retryOnInterrupt: true)
        } catch Errno.noSuchFileOrDirectory {
            return .gone
        }
        defer { try? fd.close() }
        let fileSize = try fd.seek(offset: 0, from: .end)
        let end = min(fileSize, target.sizeBytes)
        var cursor = cursor
        var read = 0
        while cursor.position < end, read < maxBytes {
            let want = Int(min(Int64(max(maxBytes - read, RecordBatchHeader.size)), end - cursor.position))
            var chunk = try readFully(fd, at: cursor.position, length: want)
            read += chunk.readableBytes
            var consumed = 0
            while cursor.position + Int64(consumed) < end {
                let at = chunk.readerIndex + consumed
                let position = cursor.position + Int64(consumed)
                guard let header = RecordBatchHeader.peek(chunk, at: at) else {
                    if consumed > 0, chunk.readableBytes - consumed < RecordBatchHeader.size { break }  // read on
                    return corruptToSegmentEnd(target, cursor: cursor, position: position, read: read,
                                               reason: "unreadable batch header (short, or magic is not 2)")
                }
                guard LogSegment.storedHeaderIsSane(header, nextOffset: cursor.nextOffset) else {
                    return corruptToSegmentEnd(target, cursor: cursor, position: position, read: read,
                                               reason: "batch length \(header.batchLength) or offsets [\(header.baseOffset), \(header.nextOffset)) invalid")
                }
                guard position + Int64(header.totalSize) <= end else {
                    return corruptToSegmentEnd(target, cursor: cursor, position: position, read: read,
                                               reason: "batch length \(header.batchLength) runs past the segment")
                }
                guard header.nextOffset <= target.endOffset else {
                    return corruptToSegmentEnd(target, cursor: cursor, position: position, read: read,
                                               reason: "offsets [\(header.baseOffset), \(header.nextOffset)) out of order")
                }
                if at + header.totalSize > chunk.writerIndex {
                    if consumed > 0 { break }  // read again from this batch
                    chunk = try readFully(fd, at: position, length: header.totalSize)
                    read += chunk.readableBytes
                }
                guard RecordBatchHeader.crcMatches(chunk, at: chunk.readerIndex + consumed, header: header) else {
                    // Length and offsets look sane (they are outside the CRC): only this batch is bad.
                    let next = Cursor(position: position + Int64(header.totalSize), nextOffset: header.nextOffset)
                    let corruption = LogCorruption(offsets: cursor.nextOffset..<header.nextOffset, segmentPath: target.path.string,
                                                   position: position, reason: "CRC-32C mismatch (stored \(header.crc))")
                    return .corrupt(corruption, resumeAt: next.position < end ? next : nil, bytesRead: read)
                }
                consumed += header.totalSize
                cursor.nextOffset = header.nextOffset
                if chunk.readerIndex + consumed >= chunk.writerIndex { break }
            }
            cursor.position += Int64(consumed)
            if consumed == 0 { break }
        }
        return cursor.position >= end ? .finished(bytesRead: read) : .progress(cursor, bytesRead: read)
    }

    private static func corruptToSegmentEnd(_ target: ScrubTarget, cursor: Cursor, position: Int64, read: Int,
                                            reason: String) -> Step {
        let corruption = LogCorruption(offsets: cursor.nextOffset..<max(target.endOffset, cursor.nextOffset + 1),
                                       segmentPath: target.path.string, position: position, reason: reason)
        return .corrupt(corruption, resumeAt: nil, bytesRead: read)
    }

    private static func readFully(_ fd: SystemPackage.FileDescriptor, at offset: Int64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        var total = 0
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            while total < length {
                let n = try fd.read(fromAbsoluteOffset: offset + Int64(total),
                                    into: UnsafeMutableRawBufferPointer(rebasing: raw[total..<length]), retryOnInterrupt: true)
                if n == 0 { break }
                total += n
            }
            return total
        }
        return buffer
    }
}

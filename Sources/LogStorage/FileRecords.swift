import Glibc
import KafkaProtocol
import NIOCore
import SystemPackage

/// A range of a segment's `.log` file holding whole record batches, to be sent as it is stored
/// (Kafka's `FileRecords` slice): a Fetch response carries it by reference and the connection
/// sends it with `sendfile(2)`.
///
/// It owns a duplicate of the segment's descriptor, closed when the value is released, so the
/// range stays readable after the segment's own handle closes or its file is deleted (the inode
/// lives while a descriptor is open). A segment truncated below the range while it is being sent
/// would leave `sendfile` short of bytes (NIO then retries until the connection closes, and the
/// client times out and reconnects). Ranges are therefore only made for consumers, whose reads
/// stop at the high watermark: a replica truncates below it only after an unclean leader
/// election, or when the ISR lost every copy of the committed records (KIP-101, KIP-279).
public final class FileRecords: ExternalRecordSource {
    /// The duplicate descriptor, open for reading until `deinit`.
    public let descriptor: CInt
    /// Where the range starts in the file, in bytes.
    public let position: Int64
    /// The range's length in bytes.
    public let byteCount: Int
    /// Record batches in the range.
    public let batchCount: Int
    /// Records in the range (the sum of the batches' record counts).
    public let recordCount: Int
    /// Bit `1 << id` for each compression codec id (batch attributes bits 0-2) in the range.
    public let compressionCodecs: UInt8
    /// The file's path, for errors.
    public let path: FilePath

    /// Takes ownership of `descriptor`.
    init(descriptor: CInt, range: BatchRange, path: FilePath) {
        self.descriptor = descriptor
        self.position = range.position
        self.byteCount = range.byteCount
        self.batchCount = range.batchCount
        self.recordCount = range.recordCount
        self.compressionCodecs = range.compressionCodecs
        self.path = path
    }

    deinit { close(descriptor) }

    /// The range's bytes, read with `pread`.
    /// - Throws: ``StorageError/io(operation:path:errno:)``; ``StorageError/corrupt(path:position:reason:)``
    ///   when the file ends before the range does (it was truncated).
    public func readBytes() throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(byteCount)
        var done = 0
        while done < byteCount {
            var n = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: byteCount - done) { raw in
                n = pread(descriptor, raw.baseAddress, byteCount - done, off_t(position) + off_t(done))
                return max(n, 0)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(operation: "pread", path: path.string, errno: Errno(rawValue: errno))
            }
            if n == 0 {
                throw StorageError.corrupt(path: path.string, position: position + Int64(done), reason: "file ended inside a fetched range")
            }
            done += n
        }
        return buffer
    }
}

/// Whole record batches found in a segment by their headers (``LogSegment/batchRange(at:maxBytes:upperBound:)``).
struct BatchRange: Equatable {
    /// Where the first batch starts in the segment's file, in bytes.
    var position: Int64
    /// The batches' total size in bytes (0: none).
    var byteCount = 0
    var batchCount = 0
    /// The sum of the batches' record counts.
    var recordCount = 0
    /// Bit `1 << id` for each compression codec id (attributes bits 0-2) among the batches.
    var compressionCodecs: UInt8 = 0
}

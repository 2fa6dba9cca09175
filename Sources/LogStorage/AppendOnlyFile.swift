import NIOCore
import SystemPackage

/// A file written only at its end, truncated only from its end, and fsynced on demand: the
/// storage under the metadata quorum's log (`__cluster_metadata-0`), which is small and rewritten
/// whole on the rare prefix deletions.
///
/// Not thread-safe: one owner at a time.
public final class AppendOnlyFile {
    private let file: SegmentFile
    /// The file's size in bytes, which is where the next append lands.
    public private(set) var size: Int64
    public let path: FilePath

    /// Opens `path`, creating it when missing.
    /// - Throws: ``StorageError/io(operation:path:errno:)``.
    public init(path: FilePath) throws {
        self.path = path
        file = try SegmentFile.open(path, create: true)
        size = try file.size()
    }

    /// Reads `length` bytes at `position`.
    /// - Throws: ``StorageError/io(operation:path:errno:)``.
    public func read(at position: Int64, length: Int) throws -> ByteBuffer {
        try file.read(at: position, length: length)
    }

    /// Writes `bytes` at the end (not yet durable; call ``sync()``).
    /// - Throws: ``StorageError/io(operation:path:errno:)``; a failed write may leave a torn tail that
    ///   the owner's recovery scan must cut.
    public func append(_ bytes: ByteBuffer) throws {
        try file.write(bytes, at: size)
        size += Int64(bytes.readableBytes)
    }

    /// Cuts the file to `newSize` bytes.
    /// - Throws: ``StorageError/io(operation:path:errno:)``.
    public func truncate(to newSize: Int64) throws {
        try file.truncate(to: newSize)
        size = newSize
    }

    /// Makes every write so far durable (fsync).
    /// - Throws: ``StorageError/io(operation:path:errno:)``.
    public func sync() throws { try file.sync() }

    public func close() { file.close() }
}

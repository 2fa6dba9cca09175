#if canImport(Glibc)
import CLinuxShims
import Glibc
#endif
import SystemPackage

/// A segment's `.log` file as the group commit syncs it: a duplicate (`dup(2)`) of the segment's
/// descriptor, owned by this object and closed when the last reference goes.
///
/// The duplicate is what lets a sync run on another thread while the log's owner goes on: a roll,
/// a retention delete or a truncation may close the segment's own descriptor at any time, and a
/// plain descriptor number could then be reused for another file by the time `fdatasync` runs.
/// The duplicate keeps the inode open until the sync that captured it has finished.
public final class SegmentSyncHandle: Sendable {
    /// The `.log` file (for error messages and the injected ``FileOperations``).
    public let path: FilePath
    private let descriptor: SystemPackage.FileDescriptor
    private let operations: any FileOperations

    /// Duplicates `descriptor`.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when `dup` fails (EMFILE).
    init(duplicating descriptor: SystemPackage.FileDescriptor, path: FilePath, operations: any FileOperations) throws(StorageError) {
        let copy = Glibc.dup(descriptor.rawValue)
        guard copy >= 0 else { throw .io(operation: "dup", path: path.string, errno: Errno(rawValue: errno)) }
        self.descriptor = SystemPackage.FileDescriptor(rawValue: copy)
        self.path = path
        self.operations = operations
    }

    deinit { _ = Glibc.close(descriptor.rawValue) }

    /// Starts the kernel's writeback of the file's dirty pages and returns without waiting for it
    /// (`sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE` over the whole file; pages already clean
    /// or being written are skipped). Nothing becomes durable by this call: it only spreads the
    /// writing of appended bytes over time, so dirty pages do not pile up until the kernel's
    /// thresholds throttle every writer at once. May block while the device's queue is full: call
    /// it on a thread pool. A failed write-back shows at the next `fdatasync`.
    /// - Returns: whether the kernel accepted the request (false: EIO, or not Linux).
    @discardableResult
    public func startWriteback() -> Bool {
        #if canImport(Glibc)
        return sync_file_range(descriptor.rawValue, 0, 0, UInt32(RUNNEL_SYNC_FILE_RANGE_WRITE)) == 0
        #else
        return false
        #endif
    }

    /// `fdatasync(2)` of the file: every byte written to it before the call is durable when it
    /// returns. Blocks for the length of a disk flush (typically 0.1-10 ms, far longer on a
    /// failing disk): call it on a thread pool, never on an event loop or the log's owner.
    /// - Throws: ``StorageError/io(operation:path:errno:)`` with operation `fdatasync` (EIO when
    ///   the device failed to write back dirty pages).
    public func sync() throws(StorageError) {
        do {
            try operations.fdatasync(descriptor, path: path)
        } catch let errno as Errno {
            throw .io(operation: "fdatasync", path: path.string, errno: errno)
        } catch {
            throw .io(operation: "fdatasync", path: path.string, errno: .ioError)
        }
    }
}

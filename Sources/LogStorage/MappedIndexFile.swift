#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A fixed-entry-size index file, memory-mapped read-write (Kafka `AbstractIndex`).
///
/// A writable index is preallocated to its maximum size (rounded down to whole entries) and mapped
/// once; `entryCount` says how much of it is used. ``trimToValidSize()`` shrinks the file to the
/// used entries when its segment rolls or closes. Loading an existing file assumes it is trimmed:
/// the entry count is the file size over the entry size; a file of the wrong shape fails the
/// caller's sanity check and is rebuilt from the log, never trusted.
final class MappedIndexFile {
    let path: FilePath
    let entrySize: Int
    private let descriptor: SystemPackage.FileDescriptor
    private var base: UnsafeMutableRawPointer?
    private(set) var mappedBytes: Int
    private(set) var entryCount: Int

    /// Entries the file can hold at its current mapped size.
    var capacity: Int { mappedBytes / entrySize }
    var isFull: Bool { entryCount >= capacity }

    /// Opens or creates the index file.
    /// - Parameters:
    ///   - writable: preallocate the file to `maxBytes` so appends can go into the map.
    ///   - maxBytes: `segment.index.bytes`.
    init(path: FilePath, entrySize: Int, maxBytes: Int, writable: Bool) throws {
        self.path = path
        self.entrySize = entrySize
        do {
            descriptor = try FileDescriptor.open(path, .readWrite, options: [.create],
                                                 permissions: [.ownerReadWrite, .groupRead, .otherRead], retryOnInterrupt: true)
        } catch let errno as Errno {
            throw StorageError.io(operation: "open", path: path.string, errno: errno)
        }
        let size = Int(try Self.fileSize(descriptor, path))
        entryCount = size / entrySize
        mappedBytes = 0
        let target = writable ? max(size - size % entrySize, maxBytes - maxBytes % entrySize) : size
        do {
            if target != size { try resize(to: target) }
            try map(bytes: target)
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    deinit {
        unmap()
        try? descriptor.close()
    }

    private static func fileSize(_ fd: SystemPackage.FileDescriptor, _ path: FilePath) throws -> Int64 {
        do { return try fd.seek(offset: 0, from: .end) } catch let errno as Errno {
            throw StorageError.io(operation: "seek", path: path.string, errno: errno)
        }
    }

    private func resize(to bytes: Int) throws {
        do { try descriptor.resize(to: Int64(bytes), retryOnInterrupt: true) } catch let errno as Errno {
            throw StorageError.io(operation: "truncate", path: path.string, errno: errno)
        }
    }

    private func map(bytes: Int) throws {
        unmap()
        mappedBytes = bytes
        guard bytes > 0 else { return }
        let pointer = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor.rawValue, 0)
        guard let pointer, pointer != MAP_FAILED else {
            mappedBytes = 0
            throw StorageError.io(operation: "mmap", path: path.string, errno: Errno(rawValue: errno))
        }
        // An active index is a sparse file of segment.index.bytes (10 MiB by default). Without
        // this, the first touch of its first page read ahead and zero-filled a whole readahead
        // window of holes (up to megabytes), charged to the page cache: the first appends to 1,000
        // new partitions spent most of the broker's CPU there. Lookups are binary searches, so
        // readahead never helps an index. Advice only: a failure changes nothing else.
        _ = madvise(pointer, bytes, MADV_RANDOM)
        base = pointer
    }

    private func unmap() {
        if let base, mappedBytes > 0 { munmap(base, mappedBytes) }
        base = nil
    }

    // MARK: Entry access (big-endian, as Kafka writes them)

    func int32(entry: Int, field: Int) -> Int32 {
        Int32(bigEndian: base!.loadUnaligned(fromByteOffset: entry * entrySize + field, as: Int32.self))
    }

    func int64(entry: Int, field: Int) -> Int64 {
        Int64(bigEndian: base!.loadUnaligned(fromByteOffset: entry * entrySize + field, as: Int64.self))
    }

    func setInt32(_ value: Int32, entry: Int, field: Int) {
        base!.storeBytes(of: value.bigEndian, toByteOffset: entry * entrySize + field, as: Int32.self)
    }

    func setInt64(_ value: Int64, entry: Int, field: Int) {
        base!.storeBytes(of: value.bigEndian, toByteOffset: entry * entrySize + field, as: Int64.self)
    }

    /// Marks one more entry as used; the caller wrote its fields first.
    func commitEntry() {
        precondition(entryCount < capacity, "index \(path) is full")
        entryCount += 1
    }

    /// Forgets entries from `count` on (truncation, rebuild).
    func truncateEntries(to count: Int) {
        precondition(count >= 0 && count <= entryCount)
        if count < entryCount, let base {
            (base + count * entrySize).initializeMemory(as: UInt8.self, repeating: 0, count: (entryCount - count) * entrySize)
        }
        entryCount = count
    }

    /// A duplicate of the index file's descriptor for a sync on another thread (`fdatasync` of
    /// the file writes back the pages dirtied through the map too).
    /// - Throws: ``StorageError/io(operation:path:errno:)`` when `dup` fails.
    func syncHandle(operations: any FileOperations) throws -> SegmentSyncHandle {
        try SegmentSyncHandle(duplicating: descriptor, path: path, operations: operations)
    }

    /// Shrinks the file to the used entries (roll, close).
    func trimToValidSize() throws {
        let bytes = entryCount * entrySize
        guard bytes != mappedBytes else { return }
        unmap()
        try resize(to: bytes)
        try map(bytes: bytes)
    }

    /// Empties the index for a rebuild without touching its pages: the file is cut to nothing and
    /// grown back to `maxBytes` as a sparse file of zeros. Zeroing a preallocated index through the
    /// map instead would allocate every block of it (10 MB per index by default) on disk and in
    /// memory, for every segment recovered.
    func resetEmpty(maxBytes: Int) throws {
        unmap()
        entryCount = 0
        try resize(to: 0)
        let target = maxBytes - maxBytes % entrySize
        try resize(to: target)
        try map(bytes: target)
    }

    /// Grows a trimmed file back to `maxBytes` so the segment can take appends again.
    func growForAppends(maxBytes: Int) throws {
        let target = maxBytes - maxBytes % entrySize
        guard target > mappedBytes else { return }
        unmap()
        try resize(to: target)
        try map(bytes: target)
    }

    /// Writes the mapped pages to disk.
    func flush() throws {
        guard let base, mappedBytes > 0 else { return }
        if msync(base, mappedBytes, MS_SYNC) != 0 {
            throw StorageError.io(operation: "msync", path: path.string, errno: Errno(rawValue: errno))
        }
    }

    /// The file size on disk, for sanity checks.
    func fileSize() throws -> Int64 { try Self.fileSize(descriptor, path) }
}

/// Binary search helper shared by the indexes: the greatest entry index in `range` whose key is
/// `<= target` (or `< target` when `strict`), or `nil`.
func greatestEntry(in range: Range<Int>, key: (Int) -> Int64, atMost target: Int64, strict: Bool = false) -> Int? {
    var lo = range.lowerBound
    var hi = range.upperBound - 1
    var found: Int?
    while lo <= hi {
        let mid = (lo + hi) / 2
        let k = key(mid)
        if strict ? k < target : k <= target {
            found = mid
            lo = mid + 1
        } else {
            hi = mid - 1
        }
    }
    return found
}

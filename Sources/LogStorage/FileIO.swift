#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import SystemPackage

/// The system calls under a segment's `.log` file. ``RealFileOperations`` makes them; tests inject
/// another implementation per ``Log`` (``Log/LoadOptions``) to simulate power loss. Errors are
/// thrown as `Errno`; ``SegmentFile`` wraps them. Index files are memory-mapped and do not go
/// through this layer.
protocol FileOperations: Sendable {
    /// Opens (creating if asked) `path` for reading and writing.
    func open(_ path: FilePath, create: Bool) throws -> SystemPackage.FileDescriptor
    /// The file's current size.
    func size(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws -> Int64
    /// Writes all of `bytes` at `offset`.
    func pwrite(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Reads at most `buffer.count` bytes at `offset`; returns how many (0 at end of file).
    func pread(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    func ftruncate(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, to size: Int64) throws
    func fsync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws
    /// Makes the file's data (and the metadata needed to read it back, such as its size) durable:
    /// the group commit's sync (``LogFlusher``). Defaults to ``fsync(_:path:)``.
    func fdatasync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws
    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath)
}

extension FileOperations {
    func fdatasync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws {
        try fsync(descriptor, path: path)
    }
}

/// The real system calls, each retrying EINTR.
struct RealFileOperations: FileOperations {
    func open(_ path: FilePath, create: Bool) throws -> SystemPackage.FileDescriptor {
        try SystemPackage.FileDescriptor.open(path, .readWrite, options: create ? [.create] : [],
                                              permissions: [.ownerReadWrite, .groupRead, .otherRead],
                                              retryOnInterrupt: true)
    }

    func size(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws -> Int64 {
        try descriptor.seek(offset: 0, from: .end)
    }

    func pwrite(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        _ = try descriptor.writeAll(toAbsoluteOffset: offset, bytes)
    }

    func pread(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try descriptor.read(fromAbsoluteOffset: offset, into: buffer, retryOnInterrupt: true)
    }

    func ftruncate(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, to size: Int64) throws {
        try descriptor.resize(to: size, retryOnInterrupt: true)
    }

    func fsync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws {
        while Glibc.fsync(descriptor.rawValue) != 0 {
            let err = Errno(rawValue: errno)
            if err != .interrupted { throw err }
        }
    }

    func fdatasync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws {
        while Glibc.fdatasync(descriptor.rawValue) != 0 {
            let err = Errno(rawValue: errno)
            if err != .interrupted { throw err }
        }
    }

    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) {
        try? descriptor.close()
    }
}

/// The thin syscall layer under the log: positional reads and writes, fsync, truncate, made
/// through a ``FileOperations``. Every call reports failures as ``StorageError/io(operation:path:errno:)``.
struct SegmentFile {
    let path: FilePath
    let descriptor: SystemPackage.FileDescriptor
    let operations: any FileOperations

    /// Opens (creating if asked) `path` for reading and writing.
    static func open(_ path: FilePath, create: Bool, operations: any FileOperations = RealFileOperations()) throws -> SegmentFile {
        do {
            let fd = try operations.open(path, create: create)
            return SegmentFile(path: path, descriptor: fd, operations: operations)
        } catch let errno as Errno {
            throw StorageError.io(operation: "open", path: path.string, errno: errno)
        }
    }

    func size() throws -> Int64 {
        do {
            return try operations.size(descriptor, path: path)
        } catch let errno as Errno {
            throw StorageError.io(operation: "seek", path: path.string, errno: errno)
        }
    }

    /// Writes all of `bytes` at `position`.
    func write(_ bytes: ByteBuffer, at position: Int64) throws {
        do {
            try bytes.withUnsafeReadableBytes { try operations.pwrite(descriptor, path: path, $0, at: position) }
        } catch let errno as Errno {
            throw StorageError.io(operation: "write", path: path.string, errno: errno)
        }
    }

    /// Reads up to `length` bytes at `position` (fewer at end of file).
    func read(at position: Int64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        guard length > 0 else { return buffer }
        do {
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
                var total = 0
                while total < length {
                    let slice = UnsafeMutableRawBufferPointer(rebasing: raw[total..<length])
                    let n = try operations.pread(descriptor, path: path, into: slice, at: position + Int64(total))
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

    func truncate(to size: Int64) throws {
        do {
            try operations.ftruncate(descriptor, path: path, to: size)
        } catch let errno as Errno {
            throw StorageError.io(operation: "truncate", path: path.string, errno: errno)
        }
    }

    func sync() throws {
        do {
            try operations.fsync(descriptor, path: path)
        } catch let errno as Errno {
            throw StorageError.io(operation: "fsync", path: path.string, errno: errno)
        }
    }

    func close() {
        operations.close(descriptor, path: path)
    }
}

/// Writes `contents` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
/// - Throws: ``StorageError/io(operation:path:errno:)``.
public func writeFileAtomically(_ path: FilePath, contents: String) throws {
    var buffer = ByteBuffer()
    buffer.writeString(contents)
    try writeFileAtomically(path, bytes: buffer)
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename, then fsyncs the directory.
/// - Parameter sync: false leaves out both fsyncs: the file is whole or absent after a crash
///   only once someone syncs it and its directory later (a roll's deferred sync,
///   ``RolledSegmentSync``); until then a crash may leave it empty or torn, so its reader must
///   check it.
/// - Throws: ``StorageError/io(operation:path:errno:)``.
public func writeFileAtomically(_ path: FilePath, bytes buffer: ByteBuffer, sync: Bool = true) throws {
    let tmp = FilePath(path.string + ".tmp")
    let file = try SegmentFile.open(tmp, create: true)
    defer { file.close() }
    try file.truncate(to: 0)
    try file.write(buffer, at: 0)
    if sync { try file.sync() }
    guard rename(tmp.string, path.string) == 0 else {
        throw StorageError.io(operation: "rename", path: path.string, errno: Errno(rawValue: errno))
    }
    if sync { syncDirectory(path.removingLastComponent()) }
}

/// Best-effort fsync of a directory so a rename or a new file survives a crash.
func syncDirectory(_ directory: FilePath) {
    let fd = Glibc.open(directory.string, O_RDONLY | O_DIRECTORY)
    if fd >= 0 {
        _ = fsync(fd)
        _ = Glibc.close(fd)
    }
}

/// Creates `directory` and its parents if missing.
func makeDirectories(_ directory: FilePath) throws {
    var current = FilePath(directory.root?.string ?? "")
    for component in directory.components {
        current.append(component)
        if mkdir(current.string, 0o755) != 0 && errno != EEXIST {
            throw StorageError.io(operation: "mkdir", path: current.string, errno: Errno(rawValue: errno))
        }
    }
}

/// Lists the names in `directory` (not `.` or `..`).
func listDirectory(_ directory: FilePath) throws -> [String] {
    guard let dir = opendir(directory.string) else {
        throw StorageError.io(operation: "opendir", path: directory.string, errno: Errno(rawValue: errno))
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Reads a whole small file as bytes; nil when it does not exist.
/// - Throws: ``StorageError/io(operation:path:errno:)``.
public func readSmallFileBytes(_ path: FilePath) throws -> ByteBuffer? {
    guard access(path.string, F_OK) == 0 else { return nil }
    let file = try SegmentFile.open(path, create: false)
    defer { file.close() }
    return try file.read(at: 0, length: Int(try file.size()))
}

/// Reads a whole small file as UTF-8, or `nil` when it does not exist.
func readSmallFile(_ path: FilePath) throws -> String? {
    guard access(path.string, F_OK) == 0 else { return nil }
    let file = try SegmentFile.open(path, create: false)
    defer { file.close() }
    var bytes = try file.read(at: 0, length: Int(try file.size()))
    return bytes.readString(length: bytes.readableBytes)
}

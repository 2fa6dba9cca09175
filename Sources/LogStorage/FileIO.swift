#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import SystemPackage

/// The thin syscall layer under the log: positional reads and writes, fsync, truncate.
/// Every call retries EINTR and reports failures as ``StorageError/io(operation:path:errno:)``.
struct SegmentFile {
    let path: FilePath
    let descriptor: SystemPackage.FileDescriptor

    /// Opens (creating if asked) `path` for reading and writing.
    static func open(_ path: FilePath, create: Bool) throws -> SegmentFile {
        do {
            let fd = try SystemPackage.FileDescriptor.open(path, .readWrite, options: create ? [.create] : [],
                                             permissions: [.ownerReadWrite, .groupRead, .otherRead],
                                             retryOnInterrupt: true)
            return SegmentFile(path: path, descriptor: fd)
        } catch let errno as Errno {
            throw StorageError.io(operation: "open", path: path.string, errno: errno)
        }
    }

    func size() throws -> Int64 {
        do {
            return try descriptor.seek(offset: 0, from: .end)
        } catch let errno as Errno {
            throw StorageError.io(operation: "seek", path: path.string, errno: errno)
        }
    }

    /// Writes all of `bytes` at `position`.
    func write(_ bytes: ByteBuffer, at position: Int64) throws {
        do {
            _ = try bytes.withUnsafeReadableBytes { try descriptor.writeAll(toAbsoluteOffset: position, $0) }
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
                    let n = try descriptor.read(fromAbsoluteOffset: position + Int64(total), into: slice, retryOnInterrupt: true)
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
            try descriptor.resize(to: size, retryOnInterrupt: true)
        } catch let errno as Errno {
            throw StorageError.io(operation: "truncate", path: path.string, errno: errno)
        }
    }

    func sync() throws {
        while fsync(descriptor.rawValue) != 0 {
            let err = Errno(rawValue: errno)
            if err == .interrupted { continue }
            throw StorageError.io(operation: "fsync", path: path.string, errno: err)
        }
    }

    func close() {
        try? descriptor.close()
    }
}

/// Writes `contents` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
func writeFileAtomically(_ path: FilePath, contents: String) throws {
    let tmp = FilePath(path.string + ".tmp")
    let file = try SegmentFile.open(tmp, create: true)
    defer { file.close() }
    try file.truncate(to: 0)
    var buffer = ByteBuffer()
    buffer.writeString(contents)
    try file.write(buffer, at: 0)
    try file.sync()
    guard rename(tmp.string, path.string) == 0 else {
        throw StorageError.io(operation: "rename", path: path.string, errno: Errno(rawValue: errno))
    }
    syncDirectory(path.removingLastComponent())
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

/// Reads a whole small file as UTF-8, or `nil` when it does not exist.
func readSmallFile(_ path: FilePath) throws -> String? {
    guard access(path.string, F_OK) == 0 else { return nil }
    let file = try SegmentFile.open(path, create: false)
    defer { file.close() }
    var bytes = try file.read(at: 0, length: Int(try file.size()))
    return bytes.readString(length: bytes.readableBytes)
}

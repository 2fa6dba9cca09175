import KafkaProtocol
import NIOCore
import SystemPackage


/// Read-only `pread` access to a file through a cached window of at least 1 MiB.
struct WindowedFileReader {
    static let windowBytes = 1 << 20
    let path: FilePath
    let descriptor: SystemPackage.FileDescriptor
    let size: Int64
    private var windowStart: Int64 = 0
    private var window = ByteBuffer()

    init(path: FilePath) throws {
        self.path = path
        do {
            descriptor = try SystemPackage.FileDescriptor.open(path, .readOnly, retryOnInterrupt: true)
        } catch let errno as Errno {
            throw StorageError.io(operation: "open", path: path.string, errno: errno)
        }
        do {
            size = try descriptor.seek(offset: 0, from: .end)
        } catch let errno as Errno {
            try? descriptor.close()
            throw StorageError.io(operation: "seek", path: path.string, errno: errno)
        }
    }

    /// Up to `length` bytes at `position`, fewer at the end of the file; reader index 0.
    mutating func bytes(at position: Int64, length: Int) throws -> ByteBuffer {
        guard length > 0 else { return ByteBuffer() }
        let windowEnd = windowStart + Int64(window.readableBytes)
        if position >= windowStart, position + Int64(length) <= windowEnd {
            return window.getSlice(at: Int(position - windowStart), length: length)!
        }
        let want = max(length, Self.windowBytes)
        window = try read(at: position, length: Int(min(Int64(want), max(0, size - position))))
        windowStart = position
        return window.getSlice(at: 0, length: min(length, window.readableBytes))!
    }

    private func read(at position: Int64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        guard length > 0 else { return buffer }
        do {
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
                var total = 0
                while total < length {
                    let slice = UnsafeMutableRawBufferPointer(rebasing: raw[total..<length])
                    let n = try descriptor.read(fromAbsoluteOffset: position + Int64(total), into: slice,
                                                retryOnInterrupt: true)
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

    func close() { try? descriptor.close() }
}

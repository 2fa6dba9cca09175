#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import SystemPackage

// Helpers shared by the storage benchmarks: temp directories, a deterministic 16 KiB batch, a
// monotonic clock, building a full segment, and /proc counters.

/// Nanoseconds from CLOCK_MONOTONIC.
@inline(__always)
func monotonicNs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Decimal megabytes per second (10^6 bytes / s) for `bytes` moved in `ns` nanoseconds.
func megabytesPerSecond(bytes: Int, ns: Int64) -> Int {
    Int((Double(bytes) / 1e6) / (Double(max(ns, 1)) / 1e9))
}

/// A logger that discards everything (recovery and rolls would otherwise print).
let silentLogger = Logger(label: "runnel.bench") { _ in SwiftLogNoOpLogHandler() }

/// A fresh directory under the system temp dir (`$TMPDIR`, else /tmp); remove it with
/// ``removeTree(_:)``.
func makeTempDirectory(_ prefix: String) -> String {
    let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: errno \(errno)")
    return String(cString: made!)
}

/// Empties every regular file below `path` first (so dirty page-cache pages are dropped rather than
/// written back), then removes the tree.
func removeTree(_ path: String) {
    let fm = FileManager.default
    if let walker = fm.enumerator(atPath: path) {
        for case let name as String in walker {
            let full = "\(path)/\(name)"
            var st = stat()
            if stat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { _ = truncate(full, 0) }
        }
    }
    try? fm.removeItem(atPath: path)
}

/// Writes `bytes` of page cache to a scratch file and frees it again, so that the page-cache
/// allocations that follow reuse guest pages the hypervisor already backs. On this Firecracker VM
/// the first touch of guest memory is slower than copying into it (a fresh 1 GiB buffered write
/// runs at ~1 GB/s, a repeated one at ~2.5 GB/s).
func warmPageAllocator(bytes: Int) {
    let directory = makeTempDirectory("runnel-bench-warm")
    let path = "\(directory)/scratch"
    let fd = Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "open \(path): errno \(errno)")
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    chunk.initializeMemory(as: UInt8.self, repeating: 0xA5)
    var written = 0
    while written < bytes {
        let n = pwrite(fd, chunk.baseAddress!, chunk.count, off_t(written))
        if n <= 0 { break }
        written += n
    }
    chunk.deallocate()
    _ = ftruncate(fd, 0)
    _ = Glibc.close(fd)
    removeTree(directory)
}

/// One uncompressed RecordBatch v2 of exactly `totalBytes` bytes: `records` records with
/// deterministic, incompressible-looking values, a valid CRC-32C.
func makeBatch(totalBytes: Int = 16 * 1024, records: Int = 16, timestamp: Int64 = Log.wallClockMs()) -> (ByteBuffer, RecordBatchHeader) {
    var state: UInt32 = 0x9E37_79B9
    func value(_ count: Int) -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(count)
        for _ in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            b.writeInteger(UInt8(truncatingIfNeeded: state >> 24))
        }
        return b
    }
    func build(lastValue: Int, each: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: timestamp)
        for i in 0..<records {
            builder.append(key: nil, value: value(i == records - 1 ? lastValue : each))
        }
        return builder.build()
    }
    // Each record carries ~totalBytes/records of value; the last record's value absorbs the rest.
    let each = max(1, (totalBytes - RecordBatchHeader.size) / records - 8)
    var last = each
    for _ in 0..<16 {
        let batch = build(lastValue: last, each: each)
        if batch.readableBytes == totalBytes {
            guard let header = RecordBatchHeader.peek(batch, at: batch.readerIndex) else { fatalError("unparsable batch") }
            return (batch, header)
        }
        last += totalBytes - batch.readableBytes
    }
    fatalError("could not size a batch to \(totalBytes) bytes")
}

/// A directory holding one log whose single segment is `segmentBytes` of 16 KiB batches, flushed
/// to disk (so its pages are clean in the page cache) and closed.
struct FullSegment {
    let directory: String
    let partitionDirectory: FilePath
    let config: LogConfig
    let bytes: Int
    let batches: Int
    let logEndOffset: Int64
    let recordsPerBatch: Int

    /// `RUNNEL_BENCH_SEGMENT_MIB` overrides the size (default 1024 MiB = 1 GiB).
    static var defaultMebibytes: Int {
        ProcessInfo.processInfo.environment["RUNNEL_BENCH_SEGMENT_MIB"].flatMap(Int.init) ?? 1024
    }

    static func build(mebibytes: Int = FullSegment.defaultMebibytes) throws -> FullSegment {
        let directory = makeTempDirectory("runnel-bench-segment")
        let partition = FilePath(directory).appending("bench-0")
        let config = LogConfig(segmentBytes: 1 << 30, segmentMs: Int64.max / 2)
        let (batch, header) = makeBatch()
        let count = mebibytes * (1 << 20) / batch.readableBytes
        let log = try Log(directory: partition, config: config, logger: silentLogger)
        for _ in 0..<count { try log.append(batch, header: header, leaderEpoch: 0) }
        precondition(log.segmentCount == 1, "the benchmark segment rolled")
        let end = log.logEndOffset
        log.close()  // fsync: the pages stay in the page cache, clean
        return FullSegment(directory: directory, partitionDirectory: partition, config: config,
                           bytes: count * batch.readableBytes, batches: count, logEndOffset: end,
                           recordsPerBatch: Int(header.recordsCount))
    }

    var logFilePath: String { partitionDirectory.appending("00000000000000000000.log").string }

    func remove() { removeTree(directory) }
}

/// The whole contents of a /proc file (read until EOF: /proc files report size 0, so readers that
/// trust the size stop after one page).
func readProcFile(_ path: String) -> [UInt8] {
    let fd = Glibc.open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { _ = Glibc.close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n < 0 { if errno == EINTR { continue }; break }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// Resident set size in bytes (/proc/self/statm, second field, in pages).
func residentBytes() -> Int {
    let fields = String(decoding: readProcFile("/proc/self/statm"), as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Open file descriptors (entries of /proc/self/fd).
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
}

/// Memory mappings (lines of /proc/self/maps).
func mappingCount() -> Int {
    readProcFile("/proc/self/maps").reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
}

/// glibc `malloc_trim(0)`: hands freed heap pages back to the kernel so that the next RSS delta
/// is not hidden by memory the previous iteration freed (looked up at run time: `<malloc.h>` is not
/// part of the Glibc module).
func trimMallocHeap() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

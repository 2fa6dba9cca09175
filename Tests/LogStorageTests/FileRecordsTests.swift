import Foundation
import Glibc
import KafkaProtocol
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// Reads for sending (``Log/readForSending(from:maxBytes:upperBound:fileAtLeast:)``): the batches
/// are the ones ``Log/read(from:maxBytes:upperBound:)`` returns, whether they come back in memory
/// or as a range of the segment file for `sendfile`.
struct FileRecordsTests {
    /// Ten batches of 40 records (a few KiB each) at offsets 0-399.
    private static func filledLog(_ dir: FilePath) throws -> Log {
        let log = try openLog(dir, indexIntervalBytes: 1024)
        for seed in 0..<10 { try log.append(makeBatch(recordCount: 40, seed: seed), epoch: 0) }
        return log
    }

    private static func bytes(_ records: StoredRecords) throws -> [UInt8] {
        switch records {
        case .bytes(let buffer): Array(buffer.readableBytesView)
        case .file(let file): Array(try file.readBytes().readableBytesView)
        }
    }

    @Test(arguments: [(0, 1, 400), (0, 20_000, 400), (55, 9_000, 400), (399, 1 << 20, 400), (0, 1 << 20, 130), (120, 1 << 20, 121)])
    func theSameBatchesAsARead(offset: Int64, maxBytes: Int, upperBound: Int64) throws {
        try withTemporaryDirectory { dir in
            let log = try Self.filledLog(dir)
            defer { log.close() }
            let read = try log.read(from: offset, maxBytes: maxBytes, upperBound: upperBound)
            let asFile = try log.readForSending(from: offset, maxBytes: maxBytes, upperBound: upperBound, fileAtLeast: 1)
            let inMemory = try log.readForSending(from: offset, maxBytes: maxBytes, upperBound: upperBound, fileAtLeast: Int.max)
            #expect(read.readableBytes > 0)
            #expect(try Self.bytes(asFile) == Array(read.readableBytesView))
            #expect(try Self.bytes(inMemory) == Array(read.readableBytesView))
            guard case .file(let file) = asFile else { Issue.record("a cached range of \(read.readableBytes) bytes was read into memory"); return }
            guard case .bytes = inMemory else { Issue.record("a range under fileAtLeast was left in the file"); return }
            #expect(file.byteCount == read.readableBytes)
            var batches = 0
            var records = 0
            var copy = read
            while let (header, _) = copy.readRecordBatch() {
                batches += 1
                records += Int(header.recordsCount)
            }
            #expect(file.batchCount == batches && file.recordCount == records)
            #expect(file.compressionCodecs == 1 << 0)
        }
    }

    @Test func nothingAtTheBoundOrTheEnd() throws {
        try withTemporaryDirectory { dir in
            let log = try Self.filledLog(dir)
            defer { log.close() }
            #expect(try Self.bytes(log.readForSending(from: 400, maxBytes: 1 << 20, upperBound: 400, fileAtLeast: 1)).isEmpty)
            #expect(try Self.bytes(log.readForSending(from: 80, maxBytes: 1 << 20, upperBound: 80, fileAtLeast: 1)).isEmpty)
            #expect(throws: StorageError.self) { try log.readForSending(from: 401, maxBytes: 1 << 20, upperBound: 400, fileAtLeast: 1) }
        }
    }

    /// The range holds its own descriptor: it stays readable after the log closes and its files
    /// are deleted (retention), as a response being sent must.
    @Test func aRangeOutlivesItsSegment() throws {
        try withTemporaryDirectory { dir in
            let log = try Self.filledLog(dir)
            let expected = Array(try log.read(from: 0, maxBytes: 1 << 20, upperBound: 400).readableBytesView)
            guard case .file(let file) = try log.readForSending(from: 0, maxBytes: 1 << 20, upperBound: 400, fileAtLeast: 1) else {
                Issue.record("expected a file range"); return
            }
            log.close()
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.string) {
                try FileManager.default.removeItem(atPath: dir.appending(name).string)
            }
            #expect(Array(try file.readBytes().readableBytesView) == expected)
        }
    }

    /// Pages not in the page cache are read into memory (on the partition's thread) rather than
    /// left for `sendfile` on an event loop, which would wait for the disk; that read caches them,
    /// so the next fetch of the range goes by file. The batch is larger than the kernel's
    /// read-ahead (8 MiB here), which the header lookup's page fault triggers.
    @Test func uncachedPagesAreReadIntoMemoryFirst() throws {
        try withTemporaryDirectory { dir in
            // Two 12 MiB batches, one per segment: the first segment is closed (not mapped) on reopening.
            let writer = try openLog(dir, segmentBytes: 16 << 20, indexIntervalBytes: 4096)
            for seed in 0..<2 {
                var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
                for i in 0..<12 { builder.append(key: nil, value: ByteBuffer(repeating: UInt8(seed * 16 + i), count: 1 << 20)) }
                try writer.append(builder.build(), epoch: 0)
            }
            try writer.flush()
            writer.close()
            let log = try openLog(dir, segmentBytes: 16 << 20, indexIntervalBytes: 4096)
            defer { log.close() }
            #expect(log.segments.count == 2)
            let fd = open(dir.appending("00000000000000000000.log").string, O_RDONLY)
            #expect(fd >= 0)
            #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
            close(fd)
            let first = try log.readForSending(from: 0, maxBytes: 1 << 20, upperBound: log.logEndOffset, fileAtLeast: 1)
            guard case .bytes(let cold) = first else { Issue.record("uncached pages were left for sendfile"); return }
            #expect(cold.readableBytes > 12 << 20)
            let second = try log.readForSending(from: 0, maxBytes: 1 << 20, upperBound: log.logEndOffset, fileAtLeast: 1)
            guard case .file(let warm) = second else { Issue.record("pages just read were not found cached"); return }
            #expect(Array(try warm.readBytes().readableBytesView) == Array(cold.readableBytesView))
        }
    }
}

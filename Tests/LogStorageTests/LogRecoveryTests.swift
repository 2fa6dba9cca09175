import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// Crash recovery on open: torn tails, CRC mismatches and corrupt batches in earlier segments.
@Suite struct LogRecoveryTests {
    /// Appends batches of `counts` records to a new log in `dir` and closes it.
    /// - Returns: the base offset and size in bytes of each batch.
    static func writeLog(_ dir: FilePath, counts: [Int], segmentBytes: Int = 1_073_741_824,
                         epochs: [Int32]? = nil) throws -> (bases: [Int64], sizes: [Int]) {
        let log = try openLog(dir, segmentBytes: segmentBytes)
        defer { log.close() }
        var bases: [Int64] = []
        var sizes: [Int] = []
        for (i, count) in counts.enumerated() {
            let batch = makeBatch(recordCount: count, seed: i)
            bases.append(try log.append(batch, epoch: epochs?[i] ?? 0))
            sizes.append(batch.readableBytes)
        }
        try log.flush()
        return (bases, sizes)
    }

    /// Writes `data` as the only segment of a fresh partition directory `dir`.
    static func installSegment(_ data: Data, in dir: FilePath) throws {
        try? FileManager.default.removeItem(atPath: dir.string)
        try FileManager.default.createDirectory(atPath: dir.string, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: dir.appending(segmentFileName(0)).string))
    }

    @Test func tornLastBatchIsDroppedAtEveryLength() throws {
        try withTemporaryDirectory { root throws in
            let source = root.appending("source-0")
            let counts = [2, 5, 1, 4]
            let (bases, sizes) = try Self.writeLog(source, counts: counts)
            let pristine = try fileBytes(source.appending(segmentFileName(0)))
            let totalSize = pristine.count
            let lastSize = sizes.last!
            let lastBase = bases.last!
            let wholeSize = totalSize - lastSize
            #expect(totalSize == sizes.reduce(0, +))

            let dir = root.appending("torn-0")
            for length in wholeSize..<totalSize {
                try Self.installSegment(pristine.prefix(length), in: dir)
                let log = try openLog(dir)
                #expect(log.logEndOffset == lastBase, "length \(length)")
                #expect(try fileSize(dir.appending(segmentFileName(0))) == wholeSize, "length \(length): truncated to the last whole batch")
                let stored = try log.read(from: 0, maxBytes: 1 << 20, upperBound: .max)
                #expect(Data(stored.readableBytesView) == pristine.prefix(wholeSize), "length \(length)")
                let next = makeBatch(recordCount: 3, seed: 77)
                #expect(try log.append(next, epoch: 0) == lastBase, "length \(length)")
                #expect(log.logEndOffset == lastBase + 3)
                let reread = try log.read(from: lastBase, maxBytes: 1, upperBound: .max)
                #expect(unassignedPart(reread) == unassignedPart(next))
                log.close()
            }
            // The whole file recovers unchanged.
            try Self.installSegment(pristine, in: dir)
            let log = try openLog(dir)
            defer { log.close() }
            #expect(log.logEndOffset == lastBase + Int64(counts.last!))
            #expect(try fileSize(dir.appending(segmentFileName(0))) == totalSize)
        }
    }

    @Test(arguments: [
        RecordBatchHeader.size + 2,           // inside the records
        RecordBatchHeader.Field.maxTimestamp,  // a CRC-covered header field
        RecordBatchHeader.Field.crc + 1,       // the stored CRC itself
    ])
    func crcMismatchInLastBatchCutsIt(flipAt relative: Int) throws {
        try withTemporaryDirectory { root throws in
            let source = root.appending("source-0")
            let (bases, sizes) = try Self.writeLog(source, counts: [3, 2, 4])
            var data = try fileBytes(source.appending(segmentFileName(0)))
            let lastStart = data.count - sizes.last!
            data[lastStart + relative] ^= 0x5A
            let dir = root.appending("flipped-0")
            try Self.installSegment(data, in: dir)
            let log = try openLog(dir)
            #expect(log.logEndOffset == bases.last!)
            #expect(try fileSize(dir.appending(segmentFileName(0))) == lastStart)
            // The batches before the cut are intact on disk, and an append lands right after them.
            let kept = try log.read(from: 0, maxBytes: 1 << 20, upperBound: .max)
            #expect(Data(kept.readableBytesView) == data.prefix(lastStart))
            #expect(try log.append(makeBatch(recordCount: 1, seed: 9), epoch: 0) == bases.last!)
            log.close()
            let reopened = try openLog(dir)
            defer { reopened.close() }
            #expect(reopened.logEndOffset == bases.last! + 1)
            #expect(try reopened.readAllBatches().count == bases.count)
        }
    }

    /// Eight 2-record batches, three per segment: segments at 0, 6 and 12.
    static func writeThreeSegments(_ dir: FilePath, epochs: [Int32]? = nil) throws -> (bases: [Int64], size: Int, segmentBytes: Int) {
        let size = makeBatch(recordCount: 2, seed: 0).readableBytes
        // Same-shaped batches (single-digit seeds) have the same size.
        let segmentBytes = 3 * size + size / 2
        let (bases, sizes) = try writeLog(dir, counts: Array(repeating: 2, count: 8), segmentBytes: segmentBytes, epochs: epochs)
        precondition(Set(sizes) == [size])
        return (bases, size, segmentBytes)
    }

    @Test func corruptMiddleBatchDeletesLaterSegments() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("multi-0")
            let epochs: [Int32] = [0, 0, 0, 4, 4, 4, 6, 6]
            let (bases, size, segmentBytes) = try Self.writeThreeSegments(dir, epochs: epochs)
            #expect(try logFileNames(dir) == [segmentFileName(0), segmentFileName(6), segmentFileName(12)])
            // Flip a record byte of batch 1 (offsets 2-3), the middle batch of segment 0.
            let first = dir.appending(segmentFileName(0))
            var data = try fileBytes(first)
            data[size + RecordBatchHeader.size + 5] ^= 0xFF
            try data.write(to: URL(fileURLWithPath: first.string))

            let log = try openLog(dir, segmentBytes: segmentBytes)
            defer { log.close() }
            #expect(log.logEndOffset == bases[1])
            #expect(log.segmentBaseOffsets == [0])
            #expect(try logFileNames(dir) == [segmentFileName(0)])
            #expect(try fileSize(first) == size)
            #expect(baseOffsets(try log.read(from: 0, maxBytes: 1 << 20, upperBound: .max)) == [0])
            // Epochs that started after the cut are forgotten.
            #expect(log.leaderEpochCache.entries == [LeaderEpochCache.Entry(epoch: 0, startOffset: 0)])
            #expect(try log.append(makeBatch(recordCount: 2, seed: 5), epoch: 7) == bases[1])
            #expect(log.segmentBaseOffsets == [0])
        }
    }

    @Test func corruptFirstBatchOfMiddleSegmentKeepsItEmpty() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("multi-0")
            let (bases, _, segmentBytes) = try Self.writeThreeSegments(dir)
            let middle = dir.appending(segmentFileName(6))
            var data = try fileBytes(middle)
            data[RecordBatchHeader.size + 1] ^= 0x01
            try data.write(to: URL(fileURLWithPath: middle.string))

            let log = try openLog(dir, segmentBytes: segmentBytes)
            defer { log.close() }
            #expect(bases[3] == 6)
            #expect(log.logEndOffset == 6)
            #expect(log.segmentBaseOffsets == [0, 6])
            #expect(try logFileNames(dir) == [segmentFileName(0), segmentFileName(6)])
            #expect(try fileSize(middle) == 0)
            #expect(try log.readAllBatches().count == 3)
            #expect(try log.append(makeBatch(recordCount: 2, seed: 3), epoch: 0) == 6)
        }
    }

    @Test func garbageAfterTheLastBatchIsCut() throws {
        try withTemporaryDirectory { root throws in
            let source = root.appending("source-0")
            let (_, sizes) = try Self.writeLog(source, counts: [2, 3])
            var data = try fileBytes(source.appending(segmentFileName(0)))
            let whole = data.count
            data.append(Data(repeating: 0, count: 100)) // e.g. a preallocated, zero-filled tail
            let dir = root.appending("zeros-0")
            try Self.installSegment(data, in: dir)
            let log = try openLog(dir)
            defer { log.close() }
            #expect(log.logEndOffset == 5)
            #expect(try fileSize(dir.appending(segmentFileName(0))) == whole)
            #expect(whole == sizes.reduce(0, +))
        }
    }
}

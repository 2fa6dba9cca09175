import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// Append and read: offset assignment, leader epoch stamping, KIP-74 maxBytes, upperBound and
/// out-of-range offsets.
@Suite struct LogReadTests {
    /// Five batches of 1, 3, 7, 2 and 5 records → offsets [0], [1-3], [4-10], [11-12], [13-17].
    static let counts = [1, 3, 7, 2, 5]
    static let epochs: [Int32] = [0, 0, 2, 2, 5]

    struct Fixture {
        var log: Log
        var originals: [ByteBuffer]
        var bases: [Int64]
        var sizes: [Int]

        /// Index of the batch containing `offset`.
        func batchIndex(of offset: Int64) -> Int { bases.lastIndex { $0 <= offset }! }
    }

    static func withFixture(_ body: (Fixture) throws -> Void) throws {
        try withTemporaryDirectory { root throws in
            let log = try openLog(root.appending("topic-0"))
            defer { log.close() }
            var fixture = Fixture(log: log, originals: [], bases: [], sizes: [])
            for (i, count) in counts.enumerated() {
                let batch = makeBatch(recordCount: count, seed: i)
                fixture.originals.append(batch)
                fixture.sizes.append(batch.readableBytes)
                fixture.bases.append(try log.append(batch, epoch: epochs[i]))
            }
            try body(fixture)
        }
    }

    @Test func appendAssignsConsecutiveBaseOffsets() throws {
        try Self.withFixture { f throws in
            #expect(f.bases == [0, 1, 4, 11, 13])
            #expect(f.log.logEndOffset == 18)
            #expect(f.log.logStartOffset == 0)
            #expect(f.log.sizeBytes == Int64(f.sizes.reduce(0, +)))
            #expect(f.log.segmentBaseOffsets == [0])
        }
    }

    @Test func readFromEveryOffsetReturnsTheContainingBatchWhole() throws {
        try Self.withFixture { f throws in
            for offset in 0..<f.log.logEndOffset {
                let i = f.batchIndex(of: offset)
                let bytes = try f.log.read(from: offset, maxBytes: 1, upperBound: f.log.logEndOffset)
                let header = try #require(RecordBatchHeader.peek(bytes, at: bytes.readerIndex))
                #expect(bytes.readableBytes == header.totalSize, "offset \(offset): exactly one whole batch")
                #expect(header.baseOffset == f.bases[i], "offset \(offset)")
                #expect(header.lastOffset == f.bases[i] + Int64(Self.counts[i]) - 1)
                #expect(header.partitionLeaderEpoch == Self.epochs[i])
                #expect(header.recordsCount == Int32(Self.counts[i]))
                #expect(RecordBatchHeader.crcMatches(bytes, at: bytes.readerIndex, header: header))
                // Only baseOffset and partitionLeaderEpoch were rewritten.
                #expect(unassignedPart(bytes) == unassignedPart(f.originals[i]))
                let records = try RecordBatchHeader.uncompressedRecords(of: bytes)
                #expect(records == (try RecordBatchHeader.uncompressedRecords(of: f.originals[i])))
            }
        }
    }

    @Test func recordsKeepKeysValuesAndHeaders() throws {
        try Self.withFixture { f throws in
            let bytes = try f.log.read(from: 5, maxBytes: 1, upperBound: .max)
            let records = try RecordBatchHeader.uncompressedRecords(of: bytes)
            #expect(records.count == 7)
            #expect(records.map(\.offsetDelta) == Array(0..<7))
            #expect(records[0].key == ByteBuffer(string: "key-2-0"))
            #expect(records[2].key == nil)
            #expect(records[3].value == nil)
            #expect(records[1].value == ByteBuffer(string: "value2;value2;"))
            #expect(records[1].headers == [Record.Header(key: "h1", value: ByteBuffer(string: "hv-2")),
                                           Record.Header(key: "nullable", value: nil)])
            #expect(records[0].headers.isEmpty)
            #expect(records.map(\.timestampDelta) == (0..<7).map { Int64($0) })
        }
    }

    @Test func maxBytesSmallerThanOneBatchStillReturnsThatBatch() throws {
        try Self.withFixture { f throws in
            for maxBytes in [0, 1, RecordBatchHeader.size, f.sizes[2] - 1] {
                let bytes = try f.log.read(from: 4, maxBytes: maxBytes, upperBound: .max)
                let batches = try #require(splitBatches(bytes))
                #expect(batches.count == 1, "maxBytes \(maxBytes)")
                #expect(batchHeader(bytes).baseOffset == 4)
                #expect(bytes.readableBytes == f.sizes[2])
            }
        }
    }

    @Test func laterBatchesOnlyWhileTheyFit() throws {
        try Self.withFixture { f throws in
            let s = f.sizes
            let cases: [(maxBytes: Int, expectedBases: [Int64])] = [
                (s[0], [0]),
                (s[0] + s[1] - 1, [0]),
                (s[0] + s[1], [0, 1]),
                (s[0] + s[1] + s[2] - 1, [0, 1]),
                (s[0] + s[1] + s[2], [0, 1, 4]),
                (s.reduce(0, +) - 1, [0, 1, 4, 11]),
                (s.reduce(0, +), [0, 1, 4, 11, 13]),
                (1 << 20, [0, 1, 4, 11, 13]),
            ]
            for c in cases {
                let bytes = try f.log.read(from: 0, maxBytes: c.maxBytes, upperBound: .max)
                #expect(baseOffsets(bytes) == c.expectedBases, "maxBytes \(c.maxBytes)")
            }
            // Starting inside batch 1 (offset 2): batch 1 whole, then batch 2 only if it fits too.
            let fromMiddle = try f.log.read(from: 2, maxBytes: s[1] + s[2], upperBound: .max)
            #expect(baseOffsets(fromMiddle) == [1, 4])
            let tight = try f.log.read(from: 2, maxBytes: s[1] + s[2] - 1, upperBound: .max)
            #expect(baseOffsets(tight) == [1])
        }
    }

    @Test func upperBoundCutsAtBatchBoundaries() throws {
        try Self.withFixture { f throws in
            func bases(from offset: Int64, upperBound: Int64) throws -> [Int64] {
                try #require(baseOffsets(try f.log.read(from: offset, maxBytes: 1 << 20, upperBound: upperBound)))
            }
            #expect(try bases(from: 0, upperBound: 4) == [0, 1])
            #expect(try bases(from: 0, upperBound: 1) == [0])
            #expect(try bases(from: 2, upperBound: 4) == [1])
            #expect(try bases(from: 0, upperBound: 13) == [0, 1, 4, 11])
            // A batch starting below the bound goes out whole; none starting at or after it.
            #expect(try bases(from: 0, upperBound: 5) == [0, 1, 4])
            #expect(try bases(from: 4, upperBound: 4) == [])
            #expect(try bases(from: 12, upperBound: 11) == [])
            #expect(try bases(from: 0, upperBound: 0) == [])
        }
    }

    @Test func readAtLogEndOffsetIsEmpty() throws {
        try Self.withFixture { f throws in
            let leo = f.log.logEndOffset
            #expect(try f.log.read(from: leo, maxBytes: 1 << 20, upperBound: leo).readableBytes == 0)
            #expect(try f.log.read(from: leo, maxBytes: 1 << 20, upperBound: .max).readableBytes == 0)
        }
    }

    @Test func offsetsOutsideTheLogThrowOffsetOutOfRange() throws {
        try Self.withFixture { f throws in
            for bad: Int64 in [19, 100, .max, -1, .min] {
                let error = #expect(throws: StorageError.self) {
                    try f.log.read(from: bad, maxBytes: 1 << 20, upperBound: .max)
                }
                guard case .offsetOutOfRange(let requested, let start, let end)? = error else {
                    Issue.record("expected offsetOutOfRange for \(bad), got \(String(describing: error))")
                    continue
                }
                #expect(requested == bad)
                #expect(start == 0)
                #expect(end == 18)
                #expect(error?.errorCode == .offsetOutOfRange)
            }
        }
    }

    @Test func emptyLog() throws {
        try withTemporaryDirectory { root throws in
            let log = try openLog(root.appending("empty-0"))
            defer { log.close() }
            #expect(log.logEndOffset == 0)
            #expect(log.segmentBaseOffsets == [0])
            #expect(try log.read(from: 0, maxBytes: 1 << 20, upperBound: .max).readableBytes == 0)
            #expect(throws: StorageError.self) { try log.read(from: 1, maxBytes: 1 << 20, upperBound: .max) }
            #expect(try logFileNames(root.appending("empty-0")) == ["00000000000000000000.log"])
        }
    }

    @Test func reopenKeepsOffsetsAndBytes() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("topic-3")
            var expectedBytes: [ByteBuffer] = []
            do {
                let log = try openLog(dir)
                for i in 0..<6 { try log.append(makeBatch(recordCount: i % 3 + 1, seed: i), epoch: Int32(i / 2)) }
                #expect(log.logEndOffset == 12)
                expectedBytes = try log.readAllBatches()
                try log.flush()
                log.close()
            }
            let log = try openLog(dir)
            defer { log.close() }
            #expect(log.logEndOffset == 12)
            let reread = try log.readAllBatches()
            #expect(reread == expectedBytes)
            #expect(reread.count == 6)
            for batch in reread {
                #expect(RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: batchHeader(batch)))
            }
            // Appends continue after the recovered end.
            #expect(try log.append(makeBatch(recordCount: 2, seed: 99), epoch: 3) == 12)
            #expect(log.logEndOffset == 14)
        }
    }

    @Test func batchLargerThanASegmentIsRefused() throws {
        try withTemporaryDirectory { root throws in
            let log = try openLog(root.appending("small-0"), segmentBytes: 100)
            defer { log.close() }
            let big = makeBatch(recordCount: 10, seed: 1)
            #expect(big.readableBytes > 100)
            let error = #expect(throws: StorageError.self) { try log.append(big, epoch: 0) }
            guard case .batchLargerThanSegment(let size, let segmentBytes)? = error else {
                Issue.record("expected batchLargerThanSegment, got \(String(describing: error))")
                return
            }
            #expect(size == big.readableBytes)
            #expect(segmentBytes == 100)
            #expect(log.logEndOffset == 0)
        }
    }
}

/// Rolling segments: file names, reads across segments and reopening.
@Suite struct LogSegmentRollTests {
    @Test func rollsIntoSegmentsNamedByBaseOffset() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("roll-0")
            let segmentBytes = 400
            var expectedBases: [Int64] = [0]
            var activeSize = 0
            var offset: Int64 = 0
            var appended: [ByteBuffer] = []
            let log = try openLog(dir, segmentBytes: segmentBytes, indexIntervalBytes: 100)
            for i in 0..<14 {
                let count = i % 4 + 1
                let batch = makeBatch(recordCount: count, seed: i)
                // Kafka's rule: roll when the active segment is non-empty and the batch would pass segment.bytes.
                if activeSize > 0 && activeSize + batch.readableBytes > segmentBytes {
                    expectedBases.append(offset)
                    activeSize = 0
                }
                activeSize += batch.readableBytes
                #expect(try log.append(batch, epoch: 1) == offset)
                appended.append(batch)
                offset += Int64(count)
            }
            #expect(expectedBases.count >= 3, "the test needs several segments")
            #expect(log.segmentBaseOffsets == expectedBases)
            #expect(log.segmentCount == expectedBases.count)
            #expect(log.logEndOffset == offset)
            #expect(try logFileNames(dir) == expectedBases.map(segmentFileName))
            for name in try logFileNames(dir) {
                #expect(name.count == 24)
                #expect(try fileSize(dir.appending(name)) <= segmentBytes)
            }
            var total = 0
            for base in expectedBases { total += try fileSize(dir.appending(segmentFileName(base))) }
            #expect(Int64(total) == log.sizeBytes)

            // Every offset reads from the right segment; the answer never crosses a segment end.
            for o in 0..<log.logEndOffset {
                let bytes = try log.read(from: o, maxBytes: 1 << 20, upperBound: log.logEndOffset)
                let batches = try #require(splitBatches(bytes))
                let first = batchHeader(try #require(batches.first))
                #expect(first.baseOffset <= o && o <= first.lastOffset, "offset \(o)")
                let segmentBase = expectedBases.last { $0 <= o }!
                let nextSegmentBase = expectedBases.first { $0 > o } ?? .max
                #expect(batches.allSatisfy { batchHeader($0).baseOffset >= segmentBase && batchHeader($0).lastOffset < nextSegmentBase })
            }
            let all = try log.readAllBatches()
            #expect(all.count == appended.count)
            for (stored, original) in zip(all, appended) {
                #expect(unassignedPart(stored) == unassignedPart(original))
            }
            log.close()

            let reopened = try openLog(dir, segmentBytes: segmentBytes, indexIntervalBytes: 100)
            defer { reopened.close() }
            #expect(reopened.segmentBaseOffsets == expectedBases)
            #expect(reopened.logEndOffset == offset)
            #expect(try reopened.readAllBatches() == all)
            // The next append goes to the last segment or rolls a new one at the log end offset.
            let next = makeBatch(recordCount: 1, seed: 50)
            #expect(try reopened.append(next, epoch: 1) == offset)
            let rolled = activeSize + next.readableBytes > segmentBytes
            #expect(reopened.segmentBaseOffsets == expectedBases + (rolled ? [offset] : []))
        }
    }

    @Test func readsAcrossManySmallIndexIntervals() throws {
        // indexIntervalBytes 0 indexes every batch; a large interval indexes only the first. Both must find every offset.
        for interval in [0, 1 << 20] {
            try withTemporaryDirectory { root throws in
                let log = try openLog(root.appending("idx-0"), indexIntervalBytes: interval)
                defer { log.close() }
                for i in 0..<20 { try log.append(makeBatch(recordCount: i % 5 + 1, seed: i), epoch: 0) }
                var offset: Int64 = 0
                for i in 0..<20 {
                    let count = Int64(i % 5 + 1)
                    for o in offset..<(offset + count) {
                        let bytes = try log.read(from: o, maxBytes: 1, upperBound: .max)
                        #expect(batchHeader(bytes).baseOffset == offset, "interval \(interval) offset \(o)")
                    }
                    offset += count
                }
            }
        }
    }
}

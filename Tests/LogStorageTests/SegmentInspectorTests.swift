import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import Testing

/// Segment files built by hand: `RecordBatchBuilder` batches with assigned offsets written back to
/// back, and hand-written `.index` / `.timeindex` files.
@Suite struct SegmentInspectorTests {
    // MARK: - Fixtures

    /// A temporary directory holding one segment `<20-digit base>.log` and optional indexes.
    final class SegmentFixture {
        let directory: URL
        let baseOffset: Int64
        init(baseOffset: Int64 = 0) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-inspector-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            self.baseOffset = baseOffset
        }
        deinit { try? FileManager.default.removeItem(at: directory) }

        func path(_ suffix: String) -> String {
            let digits = String(baseOffset)
            return directory.appendingPathComponent(String(repeating: "0", count: 20 - digits.count) + digits + suffix).path
        }
        var logPath: String { path(".log") }

        func write(_ bytes: [UInt8], suffix: String = ".log") throws {
            try Data(bytes).write(to: URL(fileURLWithPath: path(suffix)))
        }
        func writeOffsetIndex(_ entries: [(relativeOffset: Int32, position: Int32)], zeroEntries: Int = 0) throws {
            var buffer = ByteBuffer()
            for e in entries {
                buffer.writeInteger(e.relativeOffset, endianness: .big)
                buffer.writeInteger(e.position, endianness: .big)
            }
            buffer.writeRepeatingByte(0, count: zeroEntries * 8)
            try write(Array(buffer.readableBytesView), suffix: ".index")
        }
        func writeTimeIndex(_ entries: [(timestamp: Int64, relativeOffset: Int32)], zeroEntries: Int = 0) throws {
            var buffer = ByteBuffer()
            for e in entries {
                buffer.writeInteger(e.timestamp, endianness: .big)
                buffer.writeInteger(e.relativeOffset, endianness: .big)
            }
            buffer.writeRepeatingByte(0, count: zeroEntries * 12)
            try write(Array(buffer.readableBytesView), suffix: ".timeindex")
        }
    }

    static let t0: Int64 = 1_700_000_000_000

    /// A batch of `count` records at `baseOffset` (leader epoch `epoch`), optionally compressed.
    static func batch(count: Int, baseOffset: Int64, epoch: Int32 = 3, timestamp: Int64 = t0,
                      codec: CompressionCodec = .none, producerID: Int64 = -1, baseSequence: Int32 = -1) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: timestamp)
        builder.producerID = producerID
        builder.producerEpoch = producerID >= 0 ? 0 : -1
        builder.baseSequence = baseSequence
        for i in 0..<count {
            let key: ByteBuffer? = i == 1 ? nil : ByteBuffer(string: "k\(i)")
            let headers = i == 2 ? [Record.Header(key: "trace", value: ByteBuffer(string: "x")), Record.Header(key: "h2", value: nil)] : []
            builder.append(key: key, value: ByteBuffer(string: "value-\(baseOffset + Int64(i))"), headers: headers,
                           timestamp: timestamp + Int64(i))
        }
        var bytes = builder.build()
        if codec != .none { bytes = try compress(bytes, codec) }
        RecordBatchHeader.assign(baseOffset: baseOffset, partitionLeaderEpoch: epoch, in: &bytes, at: bytes.readerIndex)
        return bytes
    }

    /// Re-encodes an uncompressed batch with its records section compressed by `codec`.
    static func compress(_ batch: ByteBuffer, _ codec: CompressionCodec) throws -> ByteBuffer {
        let records = batch.getSlice(at: batch.readerIndex + RecordBatchHeader.size,
                                     length: batch.readableBytes - RecordBatchHeader.size)!
        var compressed = try codec.compress(records)
        var out = batch.getSlice(at: batch.readerIndex, length: RecordBatchHeader.size)!
        out.writeBuffer(&compressed)
        out.setInteger(Int32(out.readableBytes - RecordBatchHeader.logOverhead), at: RecordBatchHeader.Field.batchLength, endianness: .big)
        let attributes = out.getInteger(at: RecordBatchHeader.Field.attributes, endianness: .big, as: Int16.self)!
        out.setInteger(attributes | codec.rawValue, at: RecordBatchHeader.Field.attributes, endianness: .big)
        let crc = out.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes...]))
        }
        out.setInteger(crc, at: RecordBatchHeader.Field.crc, endianness: .big)
        return out
    }

    static func concat(_ batches: [ByteBuffer]) -> [UInt8] {
        batches.flatMap { Array($0.readableBytesView) }
    }

    /// Three batches at base offset 100: 3 records (gzip), 2 records, 4 records (idempotent producer).
    static func threeBatches() throws -> [ByteBuffer] {
        [try batch(count: 3, baseOffset: 100, codec: .gzip),
         try batch(count: 2, baseOffset: 103, timestamp: t0 + 10),
         try batch(count: 4, baseOffset: 105, timestamp: t0 + 20, producerID: 42, baseSequence: 7)]
    }

    static func inspect(_ fixture: SegmentFixture, records: Bool = false, data: Bool = false) throws -> SegmentInspector.Report {
        try SegmentInspector(path: fixture.logPath, options: .init(includeRecords: records, includeData: data)).inspect()
    }

    // MARK: - Batches

    @Test func listsEveryBatchOfAValidSegment() throws {
        let fixture = try SegmentFixture(baseOffset: 100)
        let batches = try Self.threeBatches()
        try fixture.write(Self.concat(batches))
        let report = try Self.inspect(fixture)

        #expect(report.summary.corruption == nil)
        #expect(report.summary.batchCount == 3)
        #expect(report.summary.recordCount == 9)
        #expect(report.summary.validBytes == Int64(batches.map(\.readableBytes).reduce(0, +)))
        #expect(report.summary.fileSize == report.summary.validBytes)
        #expect(report.batches.map(\.baseOffset) == [100, 103, 105])
        #expect(report.batches.map(\.lastOffset) == [102, 104, 108])
        #expect(report.batches.map(\.recordCount) == [3, 2, 4])
        #expect(report.batches.map(\.sizeBytes) == batches.map(\.readableBytes))
        #expect(report.batches.map(\.position) == [0, Int64(batches[0].readableBytes),
                                                   Int64(batches[0].readableBytes + batches[1].readableBytes)])
        #expect(report.batches.map(\.codecName) == ["gzip", "none", "none"])
        #expect(report.batches.allSatisfy { $0.crcMatches && $0.magic == 2 && $0.partitionLeaderEpoch == 3 })
        #expect(report.batches.allSatisfy { !$0.isTransactional && !$0.isControl && $0.timestampType == "CreateTime" })
        #expect(report.batches.map(\.maxTimestamp) == [Self.t0 + 2, Self.t0 + 11, Self.t0 + 23])
        #expect(report.batches[1].baseTimestamp == Self.t0 + 10)
        #expect(report.batches[2].producerID == 42)
        #expect(report.batches[2].baseSequence == 7)
        #expect(report.batches[2].lastSequence == 10)
        #expect(report.batches[0].lastSequence == -1)
        #expect(report.batches[0].storedCRC == batches[0].getInteger(at: RecordBatchHeader.Field.crc, endianness: .big, as: UInt32.self))
        #expect(report.batches.allSatisfy { $0.records == nil })
    }

    @Test func decodesRecordsOfCompressedAndPlainBatches() throws {
        let fixture = try SegmentFixture(baseOffset: 100)
        try fixture.write(Self.concat(try Self.threeBatches()))
        let report = try Self.inspect(fixture, records: true, data: true)
        #expect(report.summary.undecodableBatches == 0)
        let gzipRecords = try #require(report.batches[0].records)
        #expect(gzipRecords.map(\.offset) == [100, 101, 102])
        #expect(gzipRecords.map(\.timestamp) == [Self.t0, Self.t0 + 1, Self.t0 + 2])
        #expect(gzipRecords.map(\.keySize) == [2, -1, 2])
        #expect(gzipRecords.map(\.key) == ["k0", nil, "k2"])
        #expect(gzipRecords.map(\.value) == ["value-100", "value-101", "value-102"])
        #expect(gzipRecords.map(\.valueSize) == [9, 9, 9])
        #expect(gzipRecords[2].headerKeys == ["trace", "h2"])
        #expect(gzipRecords[2].headerCount == 2)
        let idempotent = try #require(report.batches[2].records)
        #expect(idempotent.map(\.sequence) == [7, 8, 9, 10])

        let withoutData = try Self.inspect(fixture, records: true)
        #expect(withoutData.batches[0].records?.map(\.key) == [nil, nil, nil])
        #expect(withoutData.batches[0].records?.map(\.keySize) == [2, -1, 2])
    }

    @Test func everyCodecDecodes() throws {
        let fixture = try SegmentFixture()
        var offset: Int64 = 0
        var batches: [ByteBuffer] = []
        for codec in CompressionCodec.allCases {
            batches.append(try Self.batch(count: 3, baseOffset: offset, codec: codec))
            offset += 3
        }
        try fixture.write(Self.concat(batches))
        let report = try Self.inspect(fixture, records: true, data: true)
        #expect(report.summary.corruption == nil)
        #expect(report.batches.map(\.codecName) == ["none", "gzip", "snappy", "lz4", "zstd"])
        #expect(report.batches.allSatisfy { $0.recordsError == nil && $0.records?.count == 3 })
        #expect(report.batches.flatMap { $0.records ?? [] }.map(\.offset) == Array(0..<15))
    }

    @Test func emptySegmentIsValid() throws {
        let fixture = try SegmentFixture()
        try fixture.write([])
        let report = try Self.inspect(fixture)
        #expect(report.summary == .init(fileSize: 0))
        #expect(report.summary.corruption == nil && report.summary.scanStop == nil)
    }

    @Test func unreadableFileThrows() throws {
        let fixture = try SegmentFixture()
        #expect(throws: StorageError.self) { try Self.inspect(fixture) }
    }

    @Test func stopsAtGarbageAppended() throws {
        let batches = try Self.threeBatches()
        let valid = Int64(batches.map(\.readableBytes).reduce(0, +))
        let cases: [([UInt8], SegmentInspector.CorruptionReason)] = [
            (Array(repeating: 0xFF, count: 100), .badMagic(-1)),
            (Array(repeating: 0, count: 4096), .badMagic(0)),  // a preallocated, zero-filled tail
            (Array(repeating: 0xAB, count: 10), .shortHeader(available: 10)),
        ]
        for (garbage, reason) in cases {
            let fixture = try SegmentFixture(baseOffset: 100)
            try fixture.write(Self.concat(batches) + garbage)
            let report = try Self.inspect(fixture)
            #expect(report.batches.count == 3)
            #expect(report.summary.validBytes == valid)
            #expect(report.summary.scannedBytes == valid)
            #expect(report.summary.fileSize == valid + Int64(garbage.count))
            #expect(report.summary.corruptions == [.init(position: valid, reason: reason, batch: nil)])
            #expect(report.summary.scanStop == report.summary.corruption)
        }
    }

    @Test func detectsAFlippedCRCByte() throws {
        let fixture = try SegmentFixture(baseOffset: 100)
        let batches = try Self.threeBatches()
        var bytes = Self.concat(batches)
        let second = batches[0].readableBytes
        bytes[second + RecordBatchHeader.Field.crc + 2] ^= 0x40
        try fixture.write(bytes)
        // Like kafka-dump-log.sh, the batches after it are still read (the framing is intact).
        let report = try Self.inspect(fixture)
        #expect(report.batches.map(\.isValid) == [true, false, true])
        #expect(report.summary.batchCount == 3)
        #expect(report.summary.invalidBatchCount == 1)
        #expect(report.summary.validBytes == Int64(second))
        #expect(report.summary.scannedBytes == report.summary.fileSize)
        #expect(report.summary.scanStop == nil)
        #expect(report.summary.corruptions.count == 1)
        let corruption = try #require(report.summary.corruption)
        #expect(corruption.position == Int64(second))
        guard case .crcMismatch(let stored, let computed) = corruption.reason else {
            Issue.record("expected a CRC mismatch, got \(corruption.reason)"); return
        }
        #expect(stored != computed)
        #expect(corruption.batch?.baseOffset == 103)
        #expect(corruption.batch?.crcMatches == false)
        #expect(report.batches[1].problem == corruption.reason)
        #expect(corruption.description.hasPrefix("corrupt batch at position \(second): CRC-32C mismatch"))

        // Recovery's view: stop at the first invalid batch.
        let strict = try SegmentInspector(path: fixture.logPath, options: .init(continuePastInvalidBatches: false)).inspect()
        #expect(strict.batches.count == 1)
        #expect(strict.summary.scannedBytes == Int64(second))
        #expect(strict.summary.corruption == corruption)
    }

    @Test func detectsAFlippedPayloadByte() throws {
        let fixture = try SegmentFixture(baseOffset: 100)
        let batches = try Self.threeBatches()
        var bytes = Self.concat(batches)
        bytes[bytes.count - 3] ^= 0x01  // inside the last batch's records
        try fixture.write(bytes)
        let report = try Self.inspect(fixture)
        #expect(report.batches.map(\.isValid) == [true, true, false])
        #expect(report.summary.corruption?.position == Int64(batches[0].readableBytes + batches[1].readableBytes))
        #expect(report.summary.corruption?.description.contains("CRC-32C mismatch") == true)
    }

    @Test func detectsATruncatedTail() throws {
        let fixture = try SegmentFixture(baseOffset: 100)
        let batches = try Self.threeBatches()
        let bytes = Self.concat(batches)
        try fixture.write(Array(bytes.dropLast(10)))
        let report = try Self.inspect(fixture)
        #expect(report.batches.count == 2)
        let start = Int64(batches[0].readableBytes + batches[1].readableBytes)
        #expect(report.summary.corruptions == [.init(
            position: start, reason: .lengthPastEndOfFile(size: batches[2].readableBytes, available: Int64(batches[2].readableBytes - 10)),
            batch: nil)])

        // Cut inside the header of the last batch.
        try fixture.write(Array(bytes[..<(Int(start) + 30)]))
        #expect(try Self.inspect(fixture).summary.corruptions == [.init(position: start, reason: .shortHeader(available: 30), batch: nil)])
    }

    @Test func detectsOffsetsThatDoNotAscend() throws {
        let fixture = try SegmentFixture(baseOffset: 100)
        let batches = [try Self.batch(count: 3, baseOffset: 100), try Self.batch(count: 2, baseOffset: 102)]
        try fixture.write(Self.concat(batches))
        let report = try Self.inspect(fixture)
        #expect(report.batches.map(\.isValid) == [true, false])
        #expect(report.summary.validBytes == Int64(batches[0].readableBytes))
        #expect(report.summary.corruption?.reason == .offsetsNotAscending(baseOffset: 102, expectedAtLeast: 103))
        #expect(report.summary.corruption?.batch?.baseOffset == 102)

        // The first batch below the base offset in the file name.
        try fixture.write(Self.concat([try Self.batch(count: 1, baseOffset: 99)]))
        #expect(try Self.inspect(fixture).summary.corruption?.reason == .offsetBelowSegmentBase(baseOffset: 99, segmentBaseOffset: 100))
    }

    @Test func detectsBadLengthsAndDeltas() throws {
        let fixture = try SegmentFixture()
        let good = try Self.batch(count: 2, baseOffset: 0)
        var tooShort = Array(good.readableBytesView)
        tooShort.replaceSubrange(8..<12, with: [0, 0, 0, 10])
        try fixture.write(tooShort)
        #expect(try Self.inspect(fixture).summary.corruption?.reason == .batchLengthTooSmall(10))

        var negative = Array(good.readableBytesView)
        negative.replaceSubrange(RecordBatchHeader.Field.lastOffsetDelta..<(RecordBatchHeader.Field.lastOffsetDelta + 4),
                                 with: [0xFF, 0xFF, 0xFF, 0xFE])
        try fixture.write(negative)
        #expect(try Self.inspect(fixture).summary.corruption?.reason == .negativeLastOffsetDelta(-2))

        var huge = Array(good.readableBytesView)
        huge.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF])
        try fixture.write(huge)
        #expect(try Self.inspect(fixture).summary.corruption?.reason
                == .lengthPastEndOfFile(size: Int(Int32.max) + 12, available: Int64(good.readableBytes)))

        var overflowing = Array(good.readableBytesView)
        overflowing.replaceSubrange(0..<8, with: [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        try fixture.write(overflowing)
        #expect(try Self.inspect(fixture).summary.corruption?.reason == .offsetOverflow(baseOffset: Int64.max))
    }

    @Test func reportsRecordsThatCannotBeDecoded() throws {
        let fixture = try SegmentFixture()
        var bytes = try Self.batch(count: 2, baseOffset: 0)
        bytes.setInteger(Int32(5), at: RecordBatchHeader.Field.recordsCount, endianness: .big)  // more than there are
        let crc = bytes.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes...]))
        }
        bytes.setInteger(crc, at: RecordBatchHeader.Field.crc, endianness: .big)
        try fixture.write(Self.concat([bytes]))
        let report = try Self.inspect(fixture, records: true)
        #expect(report.summary.corruption == nil)
        #expect(report.summary.undecodableBatches == 1)
        #expect(report.batches.first?.records == nil)
        #expect(report.batches.first?.recordsError != nil)
    }

    @Test func neverTrapsOnRandomBytes() throws {
        var generator = SystemRandomNumberGenerator()
        let fixture = try SegmentFixture()
        let good = Array(try Self.batch(count: 3, baseOffset: 0, codec: .lz4).readableBytesView)
        for round in 0..<200 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if round % 4 == 0 && bytes.count > 16 { bytes[16] = 2 }  // get past the magic check
            } else {
                bytes = good  // mutate a valid batch
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            try fixture.write(bytes)
            let report = try Self.inspect(fixture, records: true, data: true)
            #expect(report.summary.validBytes <= report.summary.scannedBytes)
            #expect(report.summary.scannedBytes <= Int64(bytes.count))
            #expect((report.summary.corruption == nil) == (report.summary.validBytes == Int64(bytes.count)))
            #expect(report.batches.count == report.summary.batchCount)
        }
    }

    // MARK: - Index checking

    /// Segment at base 100 with batches (last offsets 102 @0, 104 @p1, 108 @p2), and its locations.
    static func indexedSegment() throws -> (SegmentFixture, SegmentInspector.Report, [Int32]) {
        let fixture = try SegmentFixture(baseOffset: 100)
        let batches = try threeBatches()
        try fixture.write(concat(batches))
        let report = try inspect(fixture)
        return (fixture, report, report.batches.map { Int32($0.position) })
    }

    static func checkOffsets(_ fixture: SegmentFixture, _ report: SegmentInspector.Report) throws -> IndexCheckResult {
        SegmentIndexChecker.checkOffsetIndex(try SegmentIndexChecker.readOffsetIndex(path: fixture.path(".index")),
                                             segmentBaseOffset: fixture.baseOffset,
                                             batches: report.batches.map(SegmentIndexChecker.BatchLocation.init),
                                             logSize: report.summary.fileSize, scannedBytes: report.summary.scannedBytes)
    }

    static func checkTimes(_ fixture: SegmentFixture, _ report: SegmentInspector.Report) throws -> IndexCheckResult {
        SegmentIndexChecker.checkTimeIndex(try SegmentIndexChecker.readTimeIndex(path: fixture.path(".timeindex")),
                                           segmentBaseOffset: fixture.baseOffset,
                                           batches: report.batches.map(SegmentIndexChecker.BatchLocation.init))
    }

    @Test func consistentIndexes() throws {
        let (fixture, report, positions) = try Self.indexedSegment()
        try fixture.writeOffsetIndex([(2, positions[0]), (8, positions[2])])
        try fixture.writeTimeIndex([(Self.t0 + 2, 2), (Self.t0 + 23, 8)])
        let offsets = try Self.checkOffsets(fixture, report)
        #expect(offsets.problems == [])
        #expect(offsets.isConsistent)
        #expect(offsets.entryCount == 2)
        #expect(offsets.trailingZeroEntries == 0)
        #expect(offsets.kind == "index")
        let times = try Self.checkTimes(fixture, report)
        #expect(times.problems == [])
        #expect(times.entryCount == 2)
        #expect(times.kind == "timeindex")

        // Empty (trimmed, no entries) indexes are consistent too.
        try fixture.writeOffsetIndex([])
        try fixture.writeTimeIndex([])
        #expect(try Self.checkOffsets(fixture, report).isConsistent)
        #expect(try Self.checkTimes(fixture, report).isConsistent)
    }

    @Test func trailingZeroEntriesAreToleratedAndCounted() throws {
        let (fixture, report, positions) = try Self.indexedSegment()
        try fixture.writeOffsetIndex([(2, positions[0]), (4, positions[1])], zeroEntries: 1000)
        try fixture.writeTimeIndex([(Self.t0 + 11, 4)], zeroEntries: 500)
        let offsets = try Self.checkOffsets(fixture, report)
        #expect(offsets.problems == [])
        #expect(offsets.entryCount == 2)
        #expect(offsets.trailingZeroEntries == 1000)
        let times = try Self.checkTimes(fixture, report)
        #expect(times.problems == [])
        #expect(times.entryCount == 1)
        #expect(times.trailingZeroEntries == 500)

        // A fresh, all-zero preallocated index has no entries.
        try fixture.writeOffsetIndex([], zeroEntries: 64)
        let fresh = try Self.checkOffsets(fixture, report)
        #expect(fresh.isConsistent && fresh.entryCount == 0 && fresh.trailingZeroEntries == 64)
    }

    @Test func entryPointingMidBatch() throws {
        let (fixture, report, positions) = try Self.indexedSegment()
        try fixture.writeOffsetIndex([(2, positions[0]), (4, positions[1] + 5)])
        let result = try Self.checkOffsets(fixture, report)
        #expect(result.problems == ["entry 1 (offset 104, position \(positions[1] + 5)): position is not the start of a batch"])
    }

    @Test func entryWithTheBaseInsteadOfTheLastOffset() throws {
        let (fixture, report, positions) = try Self.indexedSegment()
        try fixture.writeOffsetIndex([(0, positions[0]), (3, positions[1])])
        let result = try Self.checkOffsets(fixture, report)
        #expect(result.problems == [
            "entry 0 (offset 100, position 0): the batch there ends at offset 102, not 100",
            "entry 1 (offset 103, position \(positions[1])): the batch there ends at offset 104, not 103",
        ])
    }

    @Test func decreasingEntries() throws {
        let (fixture, report, positions) = try Self.indexedSegment()
        try fixture.writeOffsetIndex([(8, positions[2]), (4, positions[1])])
        let result = try Self.checkOffsets(fixture, report)
        #expect(result.problems == [
            "entry 1 (offset 104, position \(positions[1])): offset does not increase (previous entry has offset 108)",
            "entry 1 (offset 104, position \(positions[1])): position does not increase (previous entry has position \(positions[2]))",
        ])

        try fixture.writeTimeIndex([(Self.t0 + 11, 4), (Self.t0 + 2, 8)])
        #expect(try Self.checkTimes(fixture, report).problems == [
            "entry 1 (timestamp \(Self.t0 + 2), offset 108): timestamp decreases (previous entry has \(Self.t0 + 11))",
        ])
    }

    @Test func entriesPastTheLogOrTheSegment() throws {
        let (fixture, report, positions) = try Self.indexedSegment()
        let size = Int32(report.summary.fileSize)
        try fixture.writeOffsetIndex([(2, positions[0]), (20, size + 100)])
        #expect(try Self.checkOffsets(fixture, report).problems == [
            "entry 1 (offset 120, position \(size + 100)): position is past the end of the log (\(size) bytes)",
        ])

        try fixture.writeTimeIndex([(Self.t0 + 2, 2), (Self.t0 + 30, 9)])
        #expect(try Self.checkTimes(fixture, report).problems == [
            "entry 1 (timestamp \(Self.t0 + 30), offset 109): offset is outside the segment (100...108)",
        ])

        try fixture.writeTimeIndex([(Self.t0 + 50, 2)])
        #expect(try Self.checkTimes(fixture, report).problems == [
            "entry 0 (timestamp \(Self.t0 + 50), offset 102): timestamp is later than every batch up to that offset (max \(Self.t0 + 2))",
        ])
    }

    @Test func partialEntryAndIndexOfACorruptLog() throws {
        let (fixture, _, positions) = try Self.indexedSegment()
        // A partial trailing entry.
        try fixture.write([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0], suffix: ".index")
        var report = try Self.inspect(fixture)
        #expect(try Self.checkOffsets(fixture, report).problems == ["file size is not a multiple of 8 (3 bytes left over)"])

        // The second batch's CRC is wrong but the batches are still located: the index is consistent.
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: fixture.logPath)))
        var bytes = original
        bytes[Int(positions[1]) + RecordBatchHeader.Field.crc] ^= 1
        try fixture.write(bytes)
        report = try Self.inspect(fixture)
        try fixture.writeOffsetIndex([(2, positions[0]), (8, positions[2])])
        #expect(try Self.checkOffsets(fixture, report).problems == [])

        // The second batch's magic is wrong: nothing after it can be located.
        bytes = original
        bytes[Int(positions[1]) + RecordBatchHeader.Field.magic] = 1
        try fixture.write(bytes)
        report = try Self.inspect(fixture)
        #expect(report.summary.scanStop?.reason == .badMagic(1))
        #expect(try Self.checkOffsets(fixture, report).problems == [
            "entry 1 (offset 108, position \(positions[2])): position is past the last readable batch (log readable up to byte \(positions[1]))",
        ])
        try fixture.writeTimeIndex([(Self.t0 + 2, 2), (Self.t0 + 23, 8)])
        #expect(SegmentIndexChecker.checkTimeIndex(try SegmentIndexChecker.readTimeIndex(path: fixture.path(".timeindex")),
                                                   segmentBaseOffset: 100, batches: report.batches.map(SegmentIndexChecker.BatchLocation.init),
                                                   logIsTruncated: true).problems == [
            "entry 1 (timestamp \(Self.t0 + 23), offset 108): offset is past the last readable batch (readable up to offset 102)",
        ])
    }

    @Test func tooManyProblemsAreSummarised() throws {
        let (fixture, report, _) = try Self.indexedSegment()
        try fixture.writeOffsetIndex((0..<300).map { _ in (Int32(1), Int32(3)) })
        let result = try Self.checkOffsets(fixture, report)
        #expect(result.problems.count == SegmentIndexChecker.maxProblems + 1)
        #expect(result.problems.last?.hasSuffix("more problems not shown") == true)
    }

    @Test func baseOffsetFromFileName() {
        #expect(SegmentInspector.baseOffset(fromFileName: "00000000000000001234.log") == 1234)
        #expect(SegmentInspector.baseOffset(fromFileName: "00000000000000000000.timeindex") == 0)
        #expect(SegmentInspector.baseOffset(fromFileName: "orders.log") == nil)
        #expect(SegmentInspector.baseOffset(fromFileName: ".log") == nil)
        #expect(SegmentInspector(path: "/x/y/00000000000000000042.log").segmentBaseOffset == 42)
    }
}

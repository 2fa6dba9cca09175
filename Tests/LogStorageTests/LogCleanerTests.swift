import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import Synchronization
import SystemPackage
import Testing

/// A settable wall clock for the log (segment mtimes stay real).
private final class FakeClock: Sendable {
    private let now = Mutex<Int64>(1_700_000_000_000)
    var ms: Int64 { now.withLock { $0 } }
    func set(_ value: Int64) { now.withLock { $0 = value } }
    var function: @Sendable () -> Int64 { { self.ms } }
}

private let t0: Int64 = 1_700_000_000_000

private func compactConfig(deleteRetentionMs: Int64 = 1000, minCompactionLagMs: Int64 = 0, segmentBytes: Int = 1 << 20,
                           indexIntervalBytes: Int = 256) -> LogConfig {
    LogConfig(segmentBytes: segmentBytes, indexIntervalBytes: indexIntervalBytes, retentionMs: -1, fileDeleteDelayMs: 0,
              deleteEnabled: false, compactEnabled: true, minCleanableDirtyRatio: 0.01, minCompactionLagMs: minCompactionLagMs,
              deleteRetentionMs: deleteRetentionMs)
}

/// A batch of keyed records (value `nil` = tombstone), compressed with `codec`.
private func keyedBatch(_ pairs: [(String, String?)], codec: CompressionCodec = .none, timestamp: Int64 = t0,
                        producerID: Int64 = -1) -> ByteBuffer {
    var builder = RecordBatchBuilder(baseTimestamp: timestamp)
    builder.producerID = producerID
    if producerID >= 0 {
        builder.producerEpoch = 0
        builder.baseSequence = 0
    }
    for (i, (key, value)) in pairs.enumerated() {
        builder.append(key: ByteBuffer(string: key), value: value.map { ByteBuffer(string: $0) }, timestamp: timestamp + Int64(i))
    }
    let plain = builder.build()
    guard codec != .none else { return plain }
    var header = RecordBatchHeader.peek(plain, at: 0)!
    header.attributes |= codec.rawValue
    let body = plain.getSlice(at: RecordBatchHeader.size, length: plain.readableBytes - RecordBatchHeader.size)!
    return LogCleaner.encode(header, body: try! codec.compress(body))
}

/// Appends batches and remembers what the newest record of each key is.
private struct Model {
    var latest: [String: (offset: Int64, value: String?)] = [:]
    var all: [(offset: Int64, key: String, value: String?)] = []

    mutating func append(_ log: Log, _ pairs: [(String, String?)], codec: CompressionCodec = .none, timestamp: Int64 = t0,
                         producerID: Int64 = -1) throws {
        let base = try log.append(keyedBatch(pairs, codec: codec, timestamp: timestamp, producerID: producerID), epoch: 0)
        for (i, (key, value)) in pairs.enumerated() {
            latest[key] = (base + Int64(i), value)
            all.append((base + Int64(i), key, value))
        }
    }

    /// What a fully compacted region below `end` holds: the last record of each key below `end`
    /// (records at or after `end` are not looked at), tombstones included unless told, offset order.
    func survivors(below end: Int64, tombstones: Bool = true) -> [ReadRecord] {
        var last: [String: ReadRecord] = [:]
        for r in all where r.offset < end { last[r.key] = ReadRecord(offset: r.offset, key: r.key, value: r.value) }
        return last.values.filter { tombstones || $0.value != nil }.sorted { $0.offset < $1.offset }
    }

    func records(from start: Int64) -> [ReadRecord] {
        all.filter { $0.offset >= start }.map { ReadRecord(offset: $0.offset, key: $0.key, value: $0.value) }
    }
}

private struct ReadRecord: Equatable, CustomStringConvertible {
    var offset: Int64
    var key: String
    var value: String?
    var description: String { "\(offset):\(key)=\(value ?? "<null>")" }
}

/// Every record the log serves, checking each batch's CRC on the way.
private func readRecords(_ log: Log) throws -> [ReadRecord] {
    var out: [ReadRecord] = []
    for batch in try log.readAllBatches(maxBytes: 4096) {
        let header = batchHeader(batch)
        #expect(RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: header), "CRC of batch at \(header.baseOffset)")
        for record in try RecordBatchHeader.records(of: batch, maxUncompressedBytes: 1 << 26) {
            out.append(ReadRecord(offset: header.baseOffset + Int64(record.offsetDelta), key: String(buffer: record.key!),
                                  value: record.value.map { String(buffer: $0) }))
        }
    }
    return out
}

/// The headers of every batch the log serves.
private func readHeaders(_ log: Log) throws -> [RecordBatchHeader] {
    try log.readAllBatches(maxBytes: 4096).map(batchHeader)
}

/// Snapshot, clean and swap in; `nil` when nothing was cleanable.
@discardableResult
private func compact(_ log: Log, firstDirty: Int64 = 0, now: Int64) throws -> CleanedLog? {
    guard let snapshot = log.cleanerSnapshot(firstDirtyOffset: firstDirty, nowMs: now) else { return nil }
    let cleaned = try LogCleaner.clean(snapshot, nowMs: now)
    #expect(try log.swapIn(cleaned))
    return cleaned
}

/// Ten keys overwritten in each of four segments, then an active segment with two records.
private func buildOverwrittenLog(_ log: Log, model: inout Model, codec: (Int) -> CompressionCodec = { _ in .none }) throws {
    for round in 0..<4 {
        for part in 0..<2 {
            let pairs = (0..<5).map { i in ("k\(part * 5 + i)", "v\(round)-\(part * 5 + i)-" + String(repeating: "x", count: 40)) }
            try model.append(log, pairs, codec: codec(round * 2 + part))
        }
        try log.roll()
    }
    try model.append(log, [("k0", "active-0"), ("k1", "active-1")])
}

private func segmentFile(_ directory: FilePath, _ base: Int64, _ suffix: String) -> FilePath {
    directory.appending(LogSegment.fileName(baseOffset: base, suffix: suffix))
}

@Suite("LogCleaner")
struct LogCleanerTests {
    @Test func keepsTheNewestRecordPerKeyAtItsOffsetAndLeavesTheActiveSegmentAlone() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try buildOverwrittenLog(log, model: &model)
            let activeBase = log.segmentBaseOffsets.last!
            let activeBytes = try fileBytes(segmentFile(dir, activeBase, ".log"))
            #expect(log.segmentCount == 5)
            #expect(log.dirtyRatio(firstDirtyOffset: 0, nowMs: t0) == 1)

            let cleaned = try #require(try compact(log, now: t0))
            #expect(cleaned.endOffset == activeBase)
            #expect(cleaned.segmentsReplaced == 4)
            #expect(cleaned.groups.count == 1)
            #expect(cleaned.stats.recordsRead == 40)
            #expect(cleaned.stats.recordsKept == 10)
            #expect(cleaned.stats.bytesWritten < cleaned.stats.bytesRead)
            #expect(log.segmentBaseOffsets == [0, activeBase])
            #expect(log.logStartOffset == 0)
            #expect(log.logEndOffset == activeBase + 2)

            let expected = model.survivors(below: activeBase) + model.records(from: activeBase)
            #expect(try readRecords(log) == expected)
            #expect(try readRecords(log).filter { $0.offset < activeBase }.map(\.offset) == Array(30..<40))  // k0..k9 of round 3
            #expect(try fileBytes(segmentFile(dir, activeBase, ".log")) == activeBytes)
            // Offsets inside the compacted gap lead to the next surviving batch.
            let fromGap = try log.read(from: 5, maxBytes: 1, upperBound: log.logEndOffset)
            #expect(batchHeader(fromGap).baseOffset == 30)
            // Nothing dirty is left.
            #expect(log.cleanerSnapshot(firstDirtyOffset: cleaned.endOffset, nowMs: t0) == nil)
            #expect(log.dirtyRatio(firstDirtyOffset: cleaned.endOffset, nowMs: t0) == 0)
            #expect(try logFileNames(dir) == [segmentFileName(0), segmentFileName(activeBase)])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.string).filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func cleanedSegmentsSurviveAReopen() throws {
        try withTemporaryDirectory { dir in
            var model = Model()
            let before: [ReadRecord]
            do {
                let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
                try buildOverwrittenLog(log, model: &model)
                try compact(log, now: t0)
                before = try readRecords(log)
                log.close()
            }
            for cleanShutdown in [true, false] {
                let reopened = try Log(directory: dir, config: compactConfig(), logger: quietLogger,
                                       options: Log.LoadOptions(recoveryPoint: cleanShutdown ? nil : 0, cleanShutdown: cleanShutdown))
                #expect(try readRecords(reopened) == before)
                #expect(reopened.segmentBaseOffsets == [0, 40])
                #expect(reopened.logEndOffset == 42)
                #expect(try reopened.offsetForTimestamp(t0, upperBound: reopened.logEndOffset)?.offset == 30)
                reopened.close()
            }
        }
    }

    @Test func incrementalCleaningsMergeWithEarlierResults() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try buildOverwrittenLog(log, model: &model)
            let first = try #require(try compact(log, now: t0))
            // New writes for half the keys, a new key, then roll so they become cleanable.
            try model.append(log, (0..<5).map { ("k\($0)", "late-\($0)") } + [("new", "n")])
            try log.roll()
            try model.append(log, [("k9", "active")])
            let second = try #require(try compact(log, firstDirty: first.endOffset, now: t0))
            #expect(second.firstDirtyOffset == first.endOffset)
            #expect(second.endOffset == log.segmentBaseOffsets.last!)
            let end = second.endOffset
            #expect(try readRecords(log) == model.survivors(below: end) + model.records(from: end))
            #expect(log.segmentCount == 2)
        }
    }

    @Test func tombstonesGetADeleteHorizonThenGoAfterDeleteRetention() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(deleteRetentionMs: 10_000), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try model.append(log, [("a", "a1"), ("b", "b1"), ("c", "c1")], timestamp: t0)
            try log.roll()
            try model.append(log, [("a", nil), ("c", "c2")], timestamp: t0 + 100)
            try log.roll()
            try model.append(log, [("tick", "1")])

            let now1 = t0 + 1_000
            let first = try #require(try compact(log, now: now1))
            #expect(try readRecords(log).filter { $0.key != "tick" } == [
                ReadRecord(offset: 1, key: "b", value: "b1"), ReadRecord(offset: 3, key: "a", value: nil),
                ReadRecord(offset: 4, key: "c", value: "c2"),
            ])
            // KIP-534: the batch holding the kept tombstone carries the delete horizon in its base
            // timestamp (attribute bit 6); record timestamps are unchanged.
            let tombstoneBatch = try #require(try readHeaders(log).first { $0.baseOffset == 3 })
            #expect(tombstoneBatch.attributes & 0x40 != 0)
            #expect(tombstoneBatch.baseTimestamp == now1 + 10_000)
            #expect(tombstoneBatch.maxTimestamp == t0 + 101)
            let batch = try log.read(from: 3, maxBytes: 1, upperBound: log.logEndOffset)
            let stamps = try RecordBatchHeader.records(of: batch, maxUncompressedBytes: 1 << 20).map { tombstoneBatch.baseTimestamp + $0.timestampDelta }
            #expect(stamps == [t0 + 100, t0 + 101])
            #expect(try log.offsetForTimestamp(t0 + 100, upperBound: log.logEndOffset)?.offset == 3)

            // Still within delete.retention.ms: the tombstone stays through another cleaning.
            try model.append(log, [("d", "d1")])
            try log.roll()
            try model.append(log, [("tick", "2")])
            let second = try #require(try compact(log, firstDirty: first.endOffset, now: now1 + 5_000))
            #expect(try readRecords(log).contains(ReadRecord(offset: 3, key: "a", value: nil)))
            #expect(second.stats.tombstonesDropped == 0)

            // Past the horizon the next cleaning drops it; the other record of its batch stays.
            try model.append(log, [("e", "e1")])
            try log.roll()
            try model.append(log, [("tick", "3")])
            let third = try #require(try compact(log, firstDirty: second.endOffset, now: now1 + 10_000))
            #expect(third.stats.tombstonesDropped == 1)
            let data = try readRecords(log).filter { $0.key != "tick" }
            #expect(data == model.survivors(below: log.logEndOffset, tombstones: false).filter { $0.key != "tick" })
            #expect(!data.contains { $0.key == "a" })
            for header in try readHeaders(log) { #expect(header.crc != 0) }
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd, .snappy])
    func compressedBatchesAreRecompressedWithTheirOwnCodec(_ codec: CompressionCodec) throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            // Alternate compressed and plain batches so every batch loses some records.
            try buildOverwrittenLog(log, model: &model, codec: { $0 % 2 == 0 ? codec : .none })
            try model.append(log, [("k2", "late")], codec: codec)
            try log.roll()
            try model.append(log, [("tick", "t")])
            let activeBase = log.segmentBaseOffsets.last!
            try compact(log, now: t0)
            #expect(try readRecords(log) == model.survivors(below: activeBase) + model.records(from: activeBase))
            let headers = try readHeaders(log)
            // The batch of round 3, part 0 (offsets 30..34) lost k0..k2 and stays compressed.
            let rebuilt = try #require(headers.first { $0.baseOffset == 30 })
            #expect(rebuilt.compressionCodecID == codec.rawValue)
            #expect(rebuilt.recordsCount == 2)
            #expect(rebuilt.lastOffsetDelta == 4)
            #expect(headers.first { $0.baseOffset == 35 }?.compressionCodecID == 0)
            #expect(headers.first { $0.baseOffset == 42 }?.compressionCodecID == codec.rawValue)
        }
    }

    @Test func batchesKeepTheirIdentityFields() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try model.append(log, [("a", "1"), ("b", "1"), ("c", "1")], codec: .gzip, timestamp: t0 + 7, producerID: 42)
            try log.roll()
            try model.append(log, [("b", "2")], producerID: 43)
            try log.roll()
            try model.append(log, [("tick", "t")])
            let before = try #require(try readHeaders(log).first)
            try compact(log, now: t0)
            let after = try #require(try readHeaders(log).first)
            #expect(after.baseOffset == before.baseOffset)
            #expect(after.lastOffsetDelta == before.lastOffsetDelta)
            #expect(after.partitionLeaderEpoch == before.partitionLeaderEpoch)
            #expect(after.producerID == 42 && after.producerEpoch == before.producerEpoch && after.baseSequence == before.baseSequence)
            #expect(after.compressionCodecID == CompressionCodec.gzip.rawValue)
            #expect(after.recordsCount == 2)
            #expect(after.baseTimestamp == t0 + 7)
            #expect(after.maxTimestamp == t0 + 9)
        }
    }

    @Test func emptiedBatchesStayOnlyForTheirProducerOrTheEndOfTheRange() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try model.append(log, [("a", "1")], producerID: 7)   // 0: superseded, not producer 7's last batch: dropped
            try model.append(log, [("a", "2")], producerID: 7)   // 1: superseded, producer 7's last batch: kept empty
            try model.append(log, [("b", "1")])                  // 2: superseded, no producer: dropped
            try log.roll()
            try model.append(log, [("a", "3"), ("b", "2")])      // 3-4: a3 dropped, b2 kept
            try model.append(log, [("a", "4")])                  // 5: dropped
            try model.append(log, [("a", "5")])                  // 6: kept
            try log.roll()
            try model.append(log, [("tick", "t")])
            try compact(log, now: t0)
            let headers = try readHeaders(log).filter { $0.baseOffset < 7 }
            #expect(headers.map(\.baseOffset) == [1, 3, 6])
            #expect(headers[0].recordsCount == 0 && headers[0].producerID == 7)
            #expect(headers[1].recordsCount == 1)
            #expect(try readRecords(log).filter { $0.offset < 7 } == [ReadRecord(offset: 4, key: "b", value: "2"),
                                                                       ReadRecord(offset: 6, key: "a", value: "5")])
        }
    }

    @Test func minCompactionLagKeepsYoungSegmentsDirty() throws {
        try withTemporaryDirectory { dir in
            let clock = FakeClock()
            let log = try Log(directory: dir, config: compactConfig(minCompactionLagMs: 60_000), logger: quietLogger, clock: clock.function)
            defer { log.close() }
            var model = Model()
            try model.append(log, [("a", "1")], timestamp: t0)
            try log.roll()
            try model.append(log, [("a", "2")], timestamp: t0 + 50_000)
            try log.roll()
            try model.append(log, [("a", "3")], timestamp: t0 + 100_000)
            // At t0 + 30 s nothing is old enough.
            #expect(log.cleanerSnapshot(firstDirtyOffset: 0, nowMs: t0 + 30_000) == nil)
            // At t0 + 100 s only the first segment is: the second stays dirty and uncleaned.
            let snapshot = try #require(log.cleanerSnapshot(firstDirtyOffset: 0, nowMs: t0 + 100_000))
            #expect(snapshot.firstUncleanableOffset == 1)
            let cleaned = try LogCleaner.clean(snapshot, nowMs: t0 + 100_000)
            #expect(try log.swapIn(cleaned))
            #expect(cleaned.endOffset == 1)
            #expect(try readRecords(log).map(\.offset) == [0, 1, 2])
        }
    }

    @Test func dirtyRatioCountsCleanAndDirtyBytesBelowTheActiveSegment() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try model.append(log, [("a", String(repeating: "x", count: 300))])
            try log.roll()
            try model.append(log, [("b", String(repeating: "y", count: 300))])
            try log.roll()
            try model.append(log, [("c", "active")])
            #expect(log.dirtyRatio(firstDirtyOffset: 0, nowMs: t0) == 1)
            #expect(log.dirtyRatio(firstDirtyOffset: 1, nowMs: t0) == 0.5)
            #expect(log.dirtyRatio(firstDirtyOffset: 2, nowMs: t0) == 0)
            // Out of range: back to the log start, as Kafka does.
            #expect(log.dirtyRatio(firstDirtyOffset: 99, nowMs: t0) == 1)
            let snapshot = try #require(log.cleanerSnapshot(firstDirtyOffset: 1, nowMs: t0))
            #expect(snapshot.segments.map(\.baseOffset) == [0, 1])
            #expect(snapshot.activeSegmentBaseOffset == 2)
            #expect(snapshot.dirtyRatio == 0.5)
        }
    }

    @Test func groupsRespectSegmentBytes() throws {
        try withTemporaryDirectory { dir in
            // Each segment holds ~600 bytes of unique keys (nothing to drop), segment.bytes 1500:
            // two segments per cleaned group.
            let log = try Log(directory: dir, config: compactConfig(segmentBytes: 1500), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            for s in 0..<6 {
                try model.append(log, (0..<5).map { ("s\(s)-k\($0)", String(repeating: "v", count: 90)) })
                try log.roll()
            }
            try model.append(log, [("tick", "t")])
            let cleaned = try #require(try compact(log, now: t0))
            #expect(cleaned.groups.map { $0.replaced.count } == [2, 2, 2])
            #expect(log.segmentBaseOffsets == [0, 10, 20, 30])
            #expect(try readRecords(log) == model.records(from: 0))
        }
    }

    @Test func aSegmentDeletedMeanwhileMakesTheSwapDiscardTheCleanedFiles() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try buildOverwrittenLog(log, model: &model)
            let snapshot = try #require(log.cleanerSnapshot(firstDirtyOffset: 0, nowMs: t0))
            let cleaned = try LogCleaner.clean(snapshot, nowMs: t0)
            #expect(FileManager.default.fileExists(atPath: segmentFile(dir, 0, ".log.cleaned").string))
            let before = try readRecords(log)
            // Retention (here DeleteRecords) removes the first segment while the cleaner worked.
            #expect(try log.deleteRecords(beforeOffset: 10) == 10)
            #expect(try log.swapIn(cleaned) == false)
            #expect(!FileManager.default.fileExists(atPath: segmentFile(dir, 0, ".log.cleaned").string))
            #expect(!FileManager.default.fileExists(atPath: segmentFile(dir, 0, ".index.cleaned").string))
            #expect(try readRecords(log) == before.filter { $0.offset >= 10 })
            // The next round cleans from the new log start.
            let again = try #require(try compact(log, now: t0))
            #expect(again.firstDirtyOffset == 10)
            #expect(try readRecords(log) == model.survivors(below: 40) + model.records(from: 40))
        }
    }

    @Test func aVanishedSegmentAbortsTheCleaning() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: dir, config: compactConfig(), logger: quietLogger)
            defer { log.close() }
            var model = Model()
            try buildOverwrittenLog(log, model: &model)
            var snapshot = try #require(log.cleanerSnapshot(firstDirtyOffset: 0, nowMs: t0))
            snapshot.segments[1].path = FilePath(snapshot.segments[1].path.string + ".gone")
            #expect(throws: LogCleaner.Aborted.self) { try LogCleaner.clean(snapshot, nowMs: t0) }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.string).filter { $0.hasSuffix(".cleaned") }
            #expect(leftovers.isEmpty)
        }
    }

    /// The crash states of a swap, produced by hand from a finished cleaning of a log whose
    /// process "died" (files left as they were) and then reopened.
    enum CrashPoint: String, CaseIterable, CustomTestStringConvertible {
        case cleanedWritten, logRenamedSwap, allRenamedSwap, oldPartlyDeleted, oldDeleted, indexesFinal, logFinalIndexSwap
        var testDescription: String { rawValue }
    }

    @Test(arguments: CrashPoint.allCases)
    func aCrashDuringTheSwapRecoversToOldOrNewData(_ point: CrashPoint) throws {
        try withTemporaryDirectory { dir in
            var model = Model()
            let config = compactConfig(segmentBytes: 1500)
            let oldRecords: [ReadRecord]
            let cleaned: CleanedLog
            do {
                let log = try Log(directory: dir, config: config, logger: quietLogger)
                try buildOverwrittenLog(log, model: &model)
                oldRecords = try readRecords(log)
                let snapshot = try #require(log.cleanerSnapshot(firstDirtyOffset: 0, nowMs: t0))
                cleaned = try LogCleaner.clean(snapshot, nowMs: t0)
                log.close()  // the process "dies" here: nothing of the swap has happened yet
            }
            let newRecords = model.survivors(below: 40) + model.records(from: 40)
            // Two groups: segments 0+10 (every record superseded) and 20+30.
            #expect(cleaned.groups.map(\.baseOffset) == [0, 20])
            let group = cleaned.groups[0]
            // The first group's cleaned segment keeps its last batch, emptied, so it ends at 20.
            let swapped = try fileBytes(segmentFile(dir, 0, ".log.cleaned"))
            #expect(swapped.count == RecordBatchHeader.size)
            #expect(Log.nextOffset(ofSegmentFile: segmentFile(dir, 0, ".log.cleaned"), baseOffset: 0) == 20)

            // Interrupt the swap of the first group (the second group's files stay `.cleaned`).
            func mv(_ from: String, _ to: String) {
                _ = rename(segmentFile(dir, group.baseOffset, from).string, segmentFile(dir, group.baseOffset, to).string)
            }
            func markOld(_ segments: ArraySlice<CleanerSnapshot.Segment>) {
                for old in segments {
                    for suffix in [".log", ".index", ".timeindex"] {
                        let path = segmentFile(dir, old.baseOffset, suffix).string
                        _ = rename(path, path + ".deleted")
                    }
                }
            }
            let all = [".log", ".index", ".timeindex"]
            switch point {
            case .cleanedWritten:
                break
            case .logRenamedSwap:
                mv(".log.cleaned", ".log.swap")
            case .allRenamedSwap:
                for s in all { mv(s + ".cleaned", s + ".swap") }
            case .oldPartlyDeleted:
                for s in all { mv(s + ".cleaned", s + ".swap") }
                markOld(group.replaced.prefix(1))
            case .oldDeleted:
                for s in all { mv(s + ".cleaned", s + ".swap") }
                markOld(group.replaced[...])
            case .indexesFinal:
                for s in all { mv(s + ".cleaned", s + ".swap") }
                markOld(group.replaced[...])
                for s in [".index", ".timeindex"] { mv(s + ".swap", s) }
            case .logFinalIndexSwap:
                // Not an order swapIn uses (it renames the log last), but it must not lose data either.
                for s in all { mv(s + ".cleaned", s + ".swap") }
                markOld(group.replaced[...])
                mv(".log.swap", ".log")
            }
            // Reopen after a clean shutdown, with a recovery point, and with full recovery.
            let modes = [Log.LoadOptions(cleanShutdown: true), Log.LoadOptions(recoveryPoint: 40), Log.LoadOptions()]
            for (i, options) in modes.enumerated() {
                let copy = FilePath(dir.string + "-\(i)")
                try FileManager.default.copyItem(atPath: dir.string, toPath: copy.string)
                defer { try? FileManager.default.removeItem(atPath: copy.string) }
                let reopened = try Log(directory: copy, config: config, logger: quietLogger, options: options)
                defer { reopened.close() }
                let records = try readRecords(reopened)
                // Each group swaps atomically: the first group's range is old or new, the second
                // group's (never swapped) is old.
                let end = group.endOffset
                let expected = point == .cleanedWritten ? oldRecords
                                                        : newRecords.filter { $0.offset < end } + oldRecords.filter { $0.offset >= end }
                #expect(records == expected, "mode \(i)")
                #expect(reopened.segmentBaseOffsets == (point == .cleanedWritten ? [0, 10, 20, 30, 40] : [0, 20, 30, 40]))
                // Never lost: the newest record of every key, at its offset.
                var newest: [String: ReadRecord] = [:]
                for r in records { newest[r.key] = r }
                for (key, latest) in model.latest {
                    #expect(newest[key] == ReadRecord(offset: latest.offset, key: key, value: latest.value), "key \(key)")
                }
                #expect(reopened.logEndOffset == 42)
                let names = try FileManager.default.contentsOfDirectory(atPath: copy.string)
                #expect(!names.contains { $0.hasSuffix(".swap") || $0.hasSuffix(".cleaned") || $0.hasSuffix(".deleted") })
                // And the next cleaning finishes the job.
                try compact(reopened, now: t0)
                #expect(try readRecords(reopened) == newRecords)
            }
        }
    }
}

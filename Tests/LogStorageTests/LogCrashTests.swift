import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// Crashes and damage between a close and the next open: torn and garbage tails, lost or corrupt
/// index files, rolls by time, size and full index, lazy segment handles, retention and
/// DeleteRecords across a reopen.
@Suite struct LogCrashTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Options for an unclean open that scans every segment.
    static let unclean = Log.LoadOptions(recoveryPoint: nil, cleanShutdown: false)
    static let clean = Log.LoadOptions(cleanShutdown: true)

    static func open(_ dir: FilePath, _ config: LogConfig, _ options: Log.LoadOptions = clean,
                     clock: CrashClock = CrashClock(t0)) throws -> Log {
        try Log(directory: dir, config: config, logger: quietLogger, options: options, clock: clock.function)
    }

    /// Batch `i` of the standard workload: 1-4 records whose timestamps wander (not monotonic).
    static func workloadBatch(_ i: Int) -> (batch: ByteBuffer, timestamps: [Int64]) {
        let count = 1 + i % 4
        let start = t0 + Int64((i * 37) % 23) * 100 + Int64(i) * 10
        let timestamps = (0..<count).map { start + Int64(($0 * 53) % 7) * 5 }
        let base = timestamps.min()!
        return (makeBatch(recordCount: count, seed: i, baseTimestamp: base, timestamps: timestamps), timestamps)
    }

    /// Appends `count` workload batches; returns them stamped, and every record timestamp.
    @discardableResult
    static func appendWorkload(_ log: Log, count: Int, from first: Int = 0) throws -> (batches: [ByteBuffer], timestamps: [Int64]) {
        var batches: [ByteBuffer] = []
        var timestamps: [Int64] = []
        for i in first..<(first + count) {
            let (batch, ts) = workloadBatch(i)
            let base = try log.append(batch, epoch: 0)
            batches.append(stamped(batch, baseOffset: base))
            timestamps += ts
        }
        return (batches, timestamps)
    }

    /// The answer `offsetForTimestamp` must give: the first record in offset order at or after `target`.
    static func bruteForceTimestamp(_ batches: [ByteBuffer], _ target: Int64) -> (offset: Int64, timestamp: Int64)? {
        for batch in batches {
            let header = batchHeader(batch)
            let records = (try? RecordBatchHeader.records(of: batch, maxUncompressedBytes: 1 << 20)) ?? []
            for record in records where header.baseTimestamp + record.timestampDelta >= target {
                return (header.baseOffset + Int64(record.offsetDelta), header.baseTimestamp + record.timestampDelta)
            }
        }
        return nil
    }

    // MARK: (a) Torn tails at every byte

    /// Truncates the active segment at every byte of its last two batches and reopens without a
    /// clean shutdown: exactly the whole batches stay, the indexes come back as if only those
    /// batches had been appended, and appends continue at the right offset.
    @Test func truncatedActiveSegmentAtEveryByteOfTheLastTwoBatches() throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(indexIntervalBytes: 100)
            let pristine = root.appending("pristine-0")
            let log = try Self.open(pristine, config, Self.unclean)
            var (batches, timestamps) = try Self.appendWorkload(log, count: 5)
            try log.roll()
            let activeBase = log.logEndOffset
            // Nine batches in the active segment, the last two small (1 and 2 records).
            let activeCount = 9
            let more = try Self.appendWorkload(log, count: activeCount, from: 5)
            batches += more.batches
            timestamps += more.timestamps
            log.close()
            let activeBatches = Array(batches.suffix(activeCount))
            let ends = activeBatches.reduce(into: [0]) { $0.append($0.last! + $1.readableBytes) }
            let activeBytes = try fileBytes(pristine.appending(segmentFileName(activeBase)))
            let pristineIndex = try fileBytes(pristine.appending(indexFileName(activeBase)))
            let pristineTimeIndex = try fileBytes(pristine.appending(timeIndexFileName(activeBase)))
            #expect(activeBytes.count == ends.last!)

            // Reference indexes for each count of whole batches: a log that got only those.
            var referenceIndexes: [Int: (Data, Data)] = [:]
            for kept in (activeCount - 2)...activeCount {
                let dir = root.appending("reference-\(kept)")
                let reference = try Self.open(dir, config, Self.unclean)
                try Self.appendWorkload(reference, count: 5)
                try reference.roll()
                try Self.appendWorkload(reference, count: kept, from: 5)
                reference.close()
                referenceIndexes[kept] = (try fileBytes(dir.appending(indexFileName(activeBase))),
                                          try fileBytes(dir.appending(timeIndexFileName(activeBase))))
                #expect(!referenceIndexes[kept]!.0.isEmpty, "the reference has offset index entries")
            }
            let probes = timestampProbes(Array(timestamps.suffix(8))) + [timestamps.min()! - 1, timestamps.min()!]
            var expectedTimestamps: [Int: [(offset: Int64, timestamp: Int64)?]] = [:]
            for kept in (activeCount - 2)...activeCount {
                expectedTimestamps[kept] = probes.map { Self.bruteForceTimestamp(Array(batches.prefix(5 + kept)), $0) }
            }
            let work = root.appending("work-0")
            try copyDirectory(pristine, to: work)
            let workLog = work.appending(segmentFileName(activeBase)).string
            let workIndex = work.appending(indexFileName(activeBase)).string
            let workTimeIndex = work.appending(timeIndexFileName(activeBase)).string
            for length in ends[activeCount - 2]...ends[activeCount] {
                // The active segment's files as a crash at this length left them.
                try activeBytes.prefix(length).write(to: URL(fileURLWithPath: workLog))
                try pristineIndex.write(to: URL(fileURLWithPath: workIndex))
                try pristineTimeIndex.write(to: URL(fileURLWithPath: workTimeIndex))
                let kept = ends.lastIndex { $0 <= length }!
                let keptBatches = Array(batches.prefix(5 + kept))
                let end = batchHeader(keptBatches.last!).nextOffset

                let log = try Self.open(work, config, Self.unclean)
                #expect(log.logEndOffset == end, "length \(length)")
                #expect(try fileSize(FilePath(workLog)) == ends[kept], "length \(length)")
                for offset in 0..<end {
                    let read = try log.read(from: offset, maxBytes: 1, upperBound: .max)
                    let want = keptBatches.first { batchHeader($0).lastOffset >= offset }!
                    if read != want { Issue.record("length \(length): read of offset \(offset) differs"); break }
                }
                for (t, want) in zip(probes, expectedTimestamps[kept]!) {
                    let found = try log.offsetForTimestamp(t, upperBound: .max)
                    if found?.offset != want?.offset || found?.timestamp != want?.timestamp {
                        Issue.record("length \(length): offsetForTimestamp(\(t)) = \(String(describing: found)), want \(String(describing: want))")
                        break
                    }
                }
                // Appends continue right after the kept batches.
                let next = makeBatch(recordCount: 2, seed: 500, baseTimestamp: Self.t0 + 9000)
                #expect(try log.append(next, epoch: 0) == end, "length \(length)")
                #expect(try log.read(from: end + 1, maxBytes: 1, upperBound: .max) == stamped(next, baseOffset: end))
                log.close()
                // The rebuilt indexes are those of a log that only ever got the kept batches (plus
                // whatever the append above added, which the first bytes are a prefix of).
                let (index, timeIndex) = referenceIndexes[kept]!
                let rebuiltIndex = try fileBytes(FilePath(workIndex))
                let rebuiltTimeIndex = try fileBytes(FilePath(workTimeIndex))
                #expect(rebuiltIndex.prefix(index.count) == index, "length \(length): offset index")
                #expect(rebuiltTimeIndex.prefix(timeIndex.count) == timeIndex, "length \(length): time index")
            }
        }
    }

    // MARK: (b) Garbage after the last batch

    enum Garbage: Sendable, CustomTestStringConvertible {
        case random(count: Int, seed: UInt64)
        /// The next batch, well formed but with one CRC byte flipped.
        case badCRC
        /// A whole batch with a valid CRC whose base offset goes backwards (a stale duplicate).
        case staleOffset
        /// A header claiming far more bytes than the file has.
        case hugeLength

        var testDescription: String {
            switch self {
            case .random(let count, let seed): return "\(count) random bytes (seed \(seed))"
            case .badCRC: return "valid header, bad CRC"
            case .staleOffset: return "valid batch, stale offset"
            case .hugeLength: return "header with a huge length"
            }
        }
    }

    @Test(arguments: [Garbage.random(count: 1, seed: 1), .random(count: 11, seed: 2), .random(count: 60, seed: 3),
                      .random(count: 61, seed: 4), .random(count: 62, seed: 5), .random(count: 700, seed: 6),
                      .random(count: 9000, seed: 7), .badCRC, .staleOffset, .hugeLength],
          [false, true])
    func garbageAfterTheActiveSegmentIsCut(garbage: Garbage, withRecoveryPoint: Bool) throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(segmentBytes: 1500, indexIntervalBytes: 100)
            let dir = root.appending("garbage-0")
            let log = try Self.open(dir, config, Self.unclean)
            let (batches, timestamps) = try Self.appendWorkload(log, count: 12)
            let end = log.logEndOffset
            let activeBase = log.segmentBaseOffsets.last!
            #expect(log.segmentCount > 1)
            log.close()
            let probes = timestampProbes(timestamps)
            let cleanLog = try Self.open(dir, config)
            let before = try LookupSnapshot.take(cleanLog, probes: probes)
            cleanLog.close()

            let activePath = dir.appending(segmentFileName(activeBase))
            let whole = try fileBytes(activePath)
            var tail: [UInt8]
            switch garbage {
            case .random(let count, let seed):
                var rng = CrashRNG(seed: seed)
                tail = rng.bytes(count)
            case .badCRC:
                tail = Array(stamped(makeBatch(recordCount: 3, seed: 99), baseOffset: end).readableBytesView)
                tail[RecordBatchHeader.Field.crc + 2] ^= 0x10
            case .staleOffset:
                tail = Array(batches.last!.readableBytesView)
            case .hugeLength:
                tail = Array(stamped(makeBatch(recordCount: 1, seed: 98), baseOffset: end).readableBytesView)
                tail.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0x00])
            }
            try FileManager.default.overwrite(activePath, with: Array(whole) + tail)

            let options = withRecoveryPoint ? Log.LoadOptions(recoveryPoint: end, cleanShutdown: false) : Self.unclean
            let reopened = try Self.open(dir, config, options)
            #expect(reopened.logEndOffset == end)
            #expect(try fileSize(activePath) == whole.count, "the garbage is cut off")
            let after = try LookupSnapshot.take(reopened, probes: probes)
            #expect(after.firstDifference(from: before) == nil)
            let next = makeBatch(recordCount: 2, seed: 321)
            #expect(try reopened.append(next, epoch: 0) == end)
            #expect(try reopened.read(from: end, maxBytes: 1, upperBound: .max) == stamped(next, baseOffset: end))
            reopened.close()
        }
    }

    // MARK: (c) Lost and damaged index files

    enum IndexDamage: String, Sendable, CaseIterable {
        case deleteIndex, deleteTimeIndex, deleteBoth
        case garbageIndex, garbageTimeIndex, garbageBoth
        case oddIndex, oddTimeIndex
        case zeroBoth
    }

    enum Target: String, Sendable, CaseIterable {
        case first, middle, active, all
    }

    /// Damages index files of a cleanly closed log and reopens it as after a clean shutdown: the
    /// sanity checks must catch the damage (or the data must make it harmless), so every offset
    /// and timestamp lookup answers exactly as before.
    @Test(arguments: IndexDamage.allCases, Target.allCases)
    func damagedIndexesGiveIdenticalLookups(damage: IndexDamage, target: Target) throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(segmentBytes: 900, indexIntervalBytes: 64)
            let dir = root.appending("damaged-0")
            let log = try Self.open(dir, config, Self.unclean)
            let (_, timestamps) = try Self.appendWorkload(log, count: 18)
            let bases = log.segmentBaseOffsets
            #expect(bases.count >= 3)
            log.close()
            let probes = timestampProbes(timestamps)
            let reference = try Self.open(dir, config)
            let before = try LookupSnapshot.take(reference, probes: probes)
            reference.close()

            let targets: [Int64]
            switch target {
            case .first: targets = [bases[0]]
            case .middle: targets = [bases[bases.count / 2]]
            case .active: targets = [bases.last!]
            case .all: targets = bases
            }
            var rng = CrashRNG(seed: UInt64(damage.rawValue.count * 31 + target.rawValue.count))
            for base in targets {
                let index = dir.appending(indexFileName(base))
                let timeIndex = dir.appending(timeIndexFileName(base))
                func garbage(_ path: FilePath) throws {
                    try FileManager.default.overwrite(path, with: rng.bytes(max(try fileSize(path), 24)))
                }
                func odd(_ path: FilePath) throws {
                    let bytes = try fileBytes(path)
                    try FileManager.default.overwrite(path, with: bytes.count >= 12 ? Array(bytes.prefix(bytes.count - 3)) : [1, 2, 3, 4, 5])
                }
                switch damage {
                case .deleteIndex: try FileManager.default.removeItem(atPath: index.string)
                case .deleteTimeIndex: try FileManager.default.removeItem(atPath: timeIndex.string)
                case .deleteBoth:
                    try FileManager.default.removeItem(atPath: index.string)
                    try FileManager.default.removeItem(atPath: timeIndex.string)
                case .garbageIndex: try garbage(index)
                case .garbageTimeIndex: try garbage(timeIndex)
                case .garbageBoth:
                    try garbage(index)
                    try garbage(timeIndex)
                case .oddIndex: try odd(index)
                case .oddTimeIndex: try odd(timeIndex)
                case .zeroBoth:
                    try FileManager.default.overwrite(index, with: [UInt8](repeating: 0, count: max(try fileSize(index), 16)))
                    try FileManager.default.overwrite(timeIndex, with: [UInt8](repeating: 0, count: max(try fileSize(timeIndex), 24)))
                }
            }

            let damaged = try Self.open(dir, config)
            let after = try LookupSnapshot.take(damaged, probes: probes)
            #expect(after.firstDifference(from: before) == nil, "after \(damage.rawValue) on \(target.rawValue)")
            damaged.close()
            // What the open rebuilt is on disk and trusted next time.
            let again = try Self.open(dir, config)
            defer { again.close() }
            let afterAgain = try LookupSnapshot.take(again, probes: probes)
            #expect(afterAgain.firstDifference(from: before) == nil, "second open after \(damage.rawValue) on \(target.rawValue)")
            for base in bases {
                #expect(try fileSize(dir.appending(indexFileName(base))) % OffsetIndex.entrySize == 0)
                #expect(try fileSize(dir.appending(timeIndexFileName(base))) % TimeIndex.entrySize == 0)
            }
        }
    }

    enum StaleIndex: String, Sendable, CaseIterable {
        /// A well-formed offset index whose only entry names a batch's last offset with the
        /// position of the batch after it.
        case offsetEntryOnTheWrongBatch
        /// A well-formed time index whose only entry points past the segment's end.
        case timeEntryPastTheEnd
    }

    /// Index files that pass the shape checks (whole entries, increasing, positions within the
    /// log) but contradict the log: a clean open must not trust them.
    @Test(arguments: StaleIndex.allCases)
    func staleIndexesThatLookSaneAreRebuilt(stale: StaleIndex) throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(segmentBytes: 900, indexIntervalBytes: 64)
            let dir = root.appending("stale-0")
            let log = try Self.open(dir, config, Self.unclean)
            let (batches, timestamps) = try Self.appendWorkload(log, count: 12)
            let bases = log.segmentBaseOffsets
            #expect(bases.count >= 2)
            log.close()
            let probes = timestampProbes(timestamps)
            let reference = try Self.open(dir, config)
            let before = try LookupSnapshot.take(reference, probes: probes)
            reference.close()

            // The first segment's batches and their positions.
            let segmentBatches = batches.filter { batchHeader($0).baseOffset < bases[1] }
            #expect(segmentBatches.count >= 3)
            let positions = segmentBatches.reduce(into: [0]) { $0.append($0.last! + $1.readableBytes) }
            switch stale {
            case .offsetEntryOnTheWrongBatch:
                let entryOffset = Int32(batchHeader(segmentBatches[0]).lastOffset)
                var bytes: [UInt8] = []
                withUnsafeBytes(of: entryOffset.bigEndian) { bytes += $0 }
                withUnsafeBytes(of: Int32(positions[1]).bigEndian) { bytes += $0 }
                try FileManager.default.overwrite(dir.appending(indexFileName(0)), with: bytes)
            case .timeEntryPastTheEnd:
                var bytes: [UInt8] = []
                withUnsafeBytes(of: (timestamps.min()! + 1).bigEndian) { bytes += $0 }
                withUnsafeBytes(of: Int32(bases[1] + 5).bigEndian) { bytes += $0 }
                try FileManager.default.overwrite(dir.appending(timeIndexFileName(0)), with: bytes)
            }
            let damaged = try Self.open(dir, config)
            defer { damaged.close() }
            let after = try LookupSnapshot.take(damaged, probes: probes)
            #expect(after.firstDifference(from: before) == nil)
        }
    }

    // MARK: (d) Rolling

    /// Reopens `dir` cleanly and uncleanly and checks both answer like `before`.
    static func expectSameAfterReopen(_ dir: FilePath, _ config: LogConfig, _ before: LookupSnapshot, probes: [Int64],
                                      _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for options in [clean, unclean] {
            let log = try open(dir, config, options)
            let after = try LookupSnapshot.take(log, probes: probes)
            if let difference = after.firstDifference(from: before) {
                Issue.record("\(comment), cleanShutdown \(options.cleanShutdown): \(difference)", sourceLocation: sourceLocation)
            }
            log.close()
        }
    }

    @Test func rollsByMessageTimeWhenBatchesCarryTimestamps() throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(segmentMs: 1000)
            let dir = root.appending("time-0")
            let clock = CrashClock(Self.t0)
            let log = try Self.open(dir, config, Self.unclean, clock: clock)
            var timestamps: [Int64] = []
            // One record per batch, so offsets count batches. The clock stands still: only the
            // message timestamps age the segment.
            for (i, delta) in [0, 400, 1000, 1001, 1500, 2002, 2010].enumerated() {
                let ts = Self.t0 + Int64(delta)
                try log.append(makeBatch(recordCount: 1, seed: i, baseTimestamp: ts, timestamps: [ts]), epoch: 0)
                timestamps.append(ts)
            }
            #expect(log.segmentBaseOffsets == [0, 3, 5], "rolls when a batch is more than segment.ms after the segment's first")
            // Wall-clock time does not matter while timestamps are there.
            clock.advance(10_000)
            let ts = Self.t0 + 2100
            try log.append(makeBatch(recordCount: 1, seed: 7, baseTimestamp: ts, timestamps: [ts]), epoch: 0)
            timestamps.append(ts)
            #expect(log.segmentBaseOffsets == [0, 3, 5])
            let probes = timestampProbes(timestamps)
            let before = try LookupSnapshot.take(log, probes: probes)
            log.close()
            try Self.expectSameAfterReopen(dir, config, before, probes: probes, "time roll")
        }
    }

    @Test func rollsByWallClockWithoutTimestamps() throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(segmentMs: 1000)
            let dir = root.appending("wall-0")
            let clock = CrashClock(Self.t0)
            let log = try Self.open(dir, config, Self.unclean, clock: clock)
            // Batches without timestamps (-1): the segment ages by the clock from its creation.
            for (i, now) in [0, 500, 1000, 1001, 1500, 2002, 2003].enumerated() {
                clock.set(Self.t0 + Int64(now))
                try log.append(makeBatch(recordCount: 1, seed: i, baseTimestamp: -1, timestamps: [-1]), epoch: 0)
            }
            #expect(log.segmentBaseOffsets == [0, 3, 5])
            let before = try LookupSnapshot.take(log, probes: [0, Self.t0])
            log.close()
            try Self.expectSameAfterReopen(dir, config, before, probes: [0, Self.t0], "wall-clock roll")
        }
    }

    @Test func rollsWhenAnIndexIsFull() throws {
        try withTemporaryDirectory { root throws in
            // Offset index: 4 entries; time index: 2 entries. Every batch after a segment's first
            // gets an index entry.
            let config = crashConfig(segmentIndexBytes: 32, indexIntervalBytes: 1)
            let dir = root.appending("full-0")
            let log = try Self.open(dir, config, Self.unclean)
            var timestamps: [Int64] = []
            for i in 0..<20 {
                let ts = Self.t0 + Int64(i) * 10
                try log.append(makeBatch(recordCount: 1 + i % 2, seed: i, baseTimestamp: ts), epoch: 0)
                timestamps += [ts, ts + 1]
            }
            let bases = log.segmentBaseOffsets
            #expect(bases.count >= 5, "segments \(bases)")
            let probes = timestampProbes(timestamps)
            let before = try LookupSnapshot.take(log, probes: probes)
            log.close()
            for base in bases {
                #expect(try fileSize(dir.appending(indexFileName(base))) <= 32)
                #expect(try fileSize(dir.appending(timeIndexFileName(base))) <= 24)
            }
            try Self.expectSameAfterReopen(dir, config, before, probes: probes, "full-index roll")
        }
    }

    @Test func rollsBySize() throws {
        try withTemporaryDirectory { root throws in
            let size = makeBatch(recordCount: 2, seed: 1).readableBytes
            let config = crashConfig(segmentBytes: 3 * size + size / 2, indexIntervalBytes: 1)
            let dir = root.appending("size-0")
            let log = try Self.open(dir, config, Self.unclean)
            var timestamps: [Int64] = []
            for i in 0..<10 {
                try log.append(makeBatch(recordCount: 2, seed: i, baseTimestamp: Self.t0 - Int64(i) * 100), epoch: 0)
                timestamps += [Self.t0 - Int64(i) * 100, Self.t0 - Int64(i) * 100 + 1]
            }
            #expect(log.segmentBaseOffsets == [0, 6, 12, 18])
            for base in log.segmentBaseOffsets.dropLast() {
                #expect(try fileSize(dir.appending(segmentFileName(base))) == 3 * size)
            }
            let probes = timestampProbes(timestamps)
            let before = try LookupSnapshot.take(log, probes: probes)
            log.close()
            try Self.expectSameAfterReopen(dir, config, before, probes: probes, "size roll")
        }
    }

    // MARK: (e) Lazy segment handles

    @Test func readingEverySegmentKeepsFewFilesOpen() throws {
        try withTemporaryDirectory { root throws in
            let size = makeBatch(recordCount: 2, seed: 1).readableBytes
            let config = crashConfig(segmentBytes: 2 * size, indexIntervalBytes: 1)
            let dir = root.appending("lazy-0")
            var options = Self.unclean
            options.maxOpenInactiveSegments = 2
            let log = try Self.open(dir, config, options)
            var timestamps: [Int64] = []
            for i in 0..<30 {
                try log.append(makeBatch(recordCount: 2, seed: i % 10, baseTimestamp: Self.t0 + Int64(i) * 10), epoch: 0)
                timestamps += [Self.t0 + Int64(i) * 10, Self.t0 + Int64(i) * 10 + 1]
            }
            #expect(log.segmentCount == 15)
            #expect(log.openSegmentCount <= 3)
            for offset in stride(from: Int64(0), to: log.logEndOffset, by: 1) {
                _ = try log.read(from: offset, maxBytes: 1, upperBound: .max)
                #expect(log.openSegmentCount <= 3, "after reading offset \(offset)")
            }
            for t in timestampProbes(timestamps) {
                _ = try log.offsetForTimestamp(t, upperBound: .max)
                #expect(log.openSegmentCount <= 3, "after looking up timestamp \(t)")
            }
            _ = try log.maxTimestampRecord(upperBound: .max)
            #expect(log.openSegmentCount <= 3)
            log.close()

            var reopenOptions = Self.clean
            reopenOptions.maxOpenInactiveSegments = 2
            let reopened = try Self.open(dir, config, reopenOptions)
            defer { reopened.close() }
            #expect(reopened.openSegmentCount == 1, "only the active segment is open after a load")
            for offset in stride(from: reopened.logEndOffset - 1, through: 0, by: -1) {
                _ = try reopened.read(from: offset, maxBytes: 1, upperBound: .max)
                #expect(reopened.openSegmentCount <= 3, "after reading offset \(offset)")
            }
        }
    }

    // MARK: (f) Retention and DeleteRecords

    static func setModificationTime(_ path: FilePath, ms: Int64) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(ms) / 1000)],
                                              ofItemAtPath: path.string)
    }

    /// Five segments of three one-record batches with timestamps t0 + 1000·segment + batch.
    static func retentionLog(_ dir: FilePath, _ config: LogConfig, clock: CrashClock) throws -> Log {
        let log = try open(dir, config, unclean, clock: clock)
        for i in 0..<15 {
            let ts = t0 + Int64(i / 3) * 1000 + Int64(i % 3)
            try log.append(makeBatch(recordCount: 1, seed: i, baseTimestamp: ts, timestamps: [ts]), epoch: 0)
            if i % 3 == 2 && i < 14 { try log.roll() }
        }
        #expect(log.segmentBaseOffsets == [0, 3, 6, 9, 12])
        return log
    }

    @Test func retentionByTimeDeletesExpiredSegmentsAfterTheDelay() throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(retentionMs: 5000, fileDeleteDelayMs: 60_000)
            let dir = root.appending("retention-0")
            let clock = CrashClock(Self.t0)
            let log = try Self.retentionLog(dir, config, clock: clock)
            // Roll times (mtimes) after the timestamps, so the timestamps count.
            for base in log.segmentBaseOffsets.dropLast() {
                try Self.setModificationTime(dir.appending(segmentFileName(base)), ms: Self.t0 + 100_000)
            }
            // Segment k's largest timestamp is t0 + 1000k + 2: at t0 + 7002 segments 0 and 1 are
            // more than 5000 ms old, segment 2 is exactly 5000 ms old and stays.
            clock.set(Self.t0 + 7002)
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset) == [Log.DeletionReason.retentionTime: 2])
            #expect(log.segmentBaseOffsets == [6, 9, 12])
            #expect(log.logStartOffset == 6)
            #expect(throws: StorageError.self) { try log.read(from: 5, maxBytes: 1, upperBound: .max) }
            #expect(try baseOffsets(log.read(from: 6, maxBytes: 1, upperBound: .max)) == [6])
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.string)
            for base: Int64 in [0, 3] {
                #expect(!names.contains(segmentFileName(base)))
                #expect(names.contains(segmentFileName(base) + ".deleted"))
                #expect(names.contains(indexFileName(base) + ".deleted"))
                #expect(names.contains(timeIndexFileName(base) + ".deleted"))
            }
            log.removeDeletedFiles(nowMs: clock.now + 59_999)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.string).contains(segmentFileName(0) + ".deleted"),
                    "kept until file.delete.delay.ms has passed")
            log.removeDeletedFiles(nowMs: clock.now + 60_000)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.string).allSatisfy { !$0.hasSuffix(".deleted") })
            // Nothing at or above the high watermark goes.
            clock.set(Self.t0 + 1_000_000)
            #expect(try log.deleteOldSegments(highWatermark: 10) == [Log.DeletionReason.retentionTime: 1])
            #expect(log.segmentBaseOffsets == [9, 12])
            let start = log.logStartOffset
            log.close()
            let reopened = try Self.open(dir, config, Log.LoadOptions(cleanShutdown: true, logStartOffset: start), clock: clock)
            defer { reopened.close() }
            #expect(reopened.logStartOffset == 9)
            #expect(reopened.segmentBaseOffsets == [9, 12])
        }
    }

    @Test func retentionBySize() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("bytes-0")
            let clock = CrashClock(Self.t0)
            let probe = try Self.retentionLog(dir, crashConfig(), clock: clock)
            let sizes = try probe.segmentBaseOffsets.map { try fileSize(dir.appending(segmentFileName($0))) }
            probe.close()
            // Keep the newest three segments' bytes and one byte more: only the oldest can go.
            let newest = Int64(sizes.suffix(3).reduce(0, +))
            let log = try Self.open(dir, crashConfig(retentionBytes: newest + 1), Self.clean, clock: clock)
            defer { log.close() }
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset) == [Log.DeletionReason.retentionSize: 1])
            #expect(log.segmentBaseOffsets == [3, 6, 9, 12])
            #expect(log.logStartOffset == 3)
            #expect(log.sizeBytes >= newest + 1)
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset).isEmpty, "already within the limit")
            // Exactly the newest three: one more goes.
            log.updateConfig(crashConfig(retentionBytes: newest))
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset) == [Log.DeletionReason.retentionSize: 1])
            #expect(log.segmentBaseOffsets == [6, 9, 12])
            #expect(log.sizeBytes == newest)
            #expect(log.logStartOffset == 6)
        }
    }

    /// A segment whose largest timestamp lies after its roll time (its file's mtime) is judged by
    /// the roll time: a producer with a bad clock cannot keep it forever.
    @Test func retentionUsesTheRollTimeForFutureTimestamps() throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig(retentionMs: 5000)
            let dir = root.appending("future-0")
            let clock = CrashClock(Self.t0)
            let log = try Self.open(dir, config, Self.unclean, clock: clock)
            defer { log.close() }
            let future = Self.t0 + 365 * 86_400_000
            try log.append(makeBatch(recordCount: 2, seed: 0, baseTimestamp: future), epoch: 0)
            try log.roll()
            try log.append(makeBatch(recordCount: 2, seed: 1, baseTimestamp: Self.t0 + 500), epoch: 0)
            try log.roll()
            try log.append(makeBatch(recordCount: 2, seed: 2, baseTimestamp: Self.t0 + 600), epoch: 0)
            try Self.setModificationTime(dir.appending(segmentFileName(0)), ms: Self.t0)
            try Self.setModificationTime(dir.appending(segmentFileName(2)), ms: Self.t0 + 1000)
            // Segment 0: mtime t0 (its timestamps are in the future of it); segment 2: timestamp
            // t0 + 501 (before its mtime). At t0 + 5001 only segment 0 has expired.
            clock.set(Self.t0 + 5001)
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset) == [Log.DeletionReason.retentionTime: 1])
            #expect(log.segmentBaseOffsets == [2, 4])
            #expect(log.logStartOffset == 2)
            // Segment 2 goes once its own timestamp is old enough.
            clock.set(Self.t0 + 5502)
            #expect(try log.deleteOldSegments(highWatermark: log.logEndOffset) == [Log.DeletionReason.retentionTime: 1])
            #expect(log.segmentBaseOffsets == [4])
        }
    }

    @Test func deleteRecordsMovesTheStartOffsetAndSurvivesAReopen() throws {
        try withTemporaryDirectory { root throws in
            let config = crashConfig()
            let dir = root.appending("deleterecords-0")
            let clock = CrashClock(Self.t0)
            let log = try Self.retentionLog(dir, config, clock: clock)
            #expect(try log.deleteRecords(beforeOffset: 7) == 7)
            #expect(log.logStartOffset == 7)
            #expect(log.segmentBaseOffsets == [6, 9, 12], "whole segments below the new start go")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.string).contains(segmentFileName(3) + ".deleted"))
            for offset: Int64 in [0, 5, 6] {
                #expect(throws: StorageError.self, "offset \(offset)") { try log.read(from: offset, maxBytes: 1, upperBound: .max) }
                do {
                    _ = try log.read(from: offset, maxBytes: 1, upperBound: .max)
                } catch let error as StorageError {
                    #expect(error.errorCode == .offsetOutOfRange)
                }
            }
            #expect(try baseOffsets(log.read(from: 7, maxBytes: 1, upperBound: .max)) == [7])
            #expect(try log.offsetForTimestamp(0, upperBound: .max)?.offset == 7, "timestamp lookups skip deleted records")
            // Never backwards.
            #expect(try log.deleteRecords(beforeOffset: 3) == 7)
            #expect(log.logStartOffset == 7)
            #expect(log.segmentBaseOffsets == [6, 9, 12])
            #expect(throws: StorageError.self) { try log.deleteRecords(beforeOffset: log.logEndOffset + 1) }
            // Exactly a segment boundary deletes the segment below it.
            #expect(try log.deleteRecords(beforeOffset: 9) == 9)
            #expect(log.segmentBaseOffsets == [9, 12])
            #expect(try log.deleteRecords(beforeOffset: 10) == 10)
            #expect(log.segmentBaseOffsets == [9, 12])
            log.close()

            for options in [Log.LoadOptions(cleanShutdown: true, logStartOffset: 10),
                            Log.LoadOptions(recoveryPoint: nil, cleanShutdown: false, logStartOffset: 10)] {
                let reopened = try Self.open(dir, config, options, clock: clock)
                #expect(reopened.logStartOffset == 10)
                #expect(reopened.segmentBaseOffsets == [9, 12])
                #expect(throws: StorageError.self) { try reopened.read(from: 9, maxBytes: 1, upperBound: .max) }
                #expect(try baseOffsets(reopened.read(from: 10, maxBytes: 1, upperBound: .max)) == [10])
                reopened.close()
            }
            // DeleteRecords up to the end keeps the active segment; reads at the end are empty, appends continue.
            let reopened = try Self.open(dir, config, Log.LoadOptions(cleanShutdown: true, logStartOffset: 10), clock: clock)
            defer { reopened.close() }
            let end = reopened.logEndOffset
            #expect(try reopened.deleteRecords(beforeOffset: end) == end)
            #expect(reopened.logStartOffset == end)
            #expect(try reopened.read(from: end, maxBytes: 1, upperBound: .max).readableBytes == 0)
            #expect(try reopened.append(makeBatch(recordCount: 1, seed: 5), epoch: 0) == end)
        }
    }
}

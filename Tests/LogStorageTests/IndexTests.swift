import Foundation
@testable import LogStorage
import SystemPackage
import Testing

/// The memory-mapped offset and time indexes on their own.
@Suite struct IndexTests {
    static let base: Int64 = 1000

    static func pair(_ entry: (Int64, Int64)) -> [Int64] { [entry.0, entry.1] }

    /// A linear-scan reference for ``OffsetIndex/lookup(_:)``.
    static func linearLookup(_ index: OffsetIndex, _ target: Int64) -> (offset: Int64, position: Int64) {
        var found: (offset: Int64, position: Int64) = (index.baseOffset, 0)
        for i in 0..<index.entryCount where index.entry(i).offset <= target { found = index.entry(i) }
        return found
    }

    /// Entries i = 0..<count at offset base + 2 + 3i, position 100 + 50i.
    static func filledOffsetIndex(_ dir: FilePath, count: Int, maxBytes: Int) throws -> OffsetIndex {
        let index = try OffsetIndex(directory: dir, baseOffset: base, maxBytes: maxBytes, writable: true)
        for i in 0..<count { index.append(offset: base + 2 + 3 * Int64(i), position: 100 + 50 * Int64(i)) }
        return index
    }

    @Test func offsetLookupAtBoundaries() throws {
        try withTemporaryDirectory { dir throws in
            let index = try Self.filledOffsetIndex(dir, count: 5, maxBytes: 4096)
            #expect(index.entryCount == 5)
            // Below the first entry (and below the base): the segment start.
            #expect(Self.pair(index.lookup(Self.base - 10)) == [Self.base, 0])
            #expect(Self.pair(index.lookup(Self.base)) == [Self.base, 0])
            #expect(Self.pair(index.lookup(Self.base + 1)) == [Self.base, 0])
            for i in 0..<5 {
                let offset = Self.base + 2 + 3 * Int64(i)
                let position = 100 + 50 * Int64(i)
                #expect(Self.pair(index.lookup(offset)) == [offset, position], "exactly at entry \(i)")
                #expect(Self.pair(index.lookup(offset + 1)) == [offset, position], "between entries, after \(i)")
                #expect(Self.pair(index.lookup(offset + 2)) == [offset, position], "between entries, after \(i)")
            }
            #expect(Self.pair(index.lookup(Self.base + 14)) == [Self.base + 14, 300])
            #expect(Self.pair(index.lookup(Int64.max)) == [Self.base + 14, 300], "above the last entry")
        }
    }

    @Test func emptyIndexAnswersTheSegmentStart() throws {
        try withTemporaryDirectory { dir throws in
            let index = try OffsetIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: true)
            #expect(index.entryCount == 0)
            #expect(Self.pair(index.lookup(Self.base + 5)) == [Self.base, 0])
            #expect(index.isSane(logSize: 0))
            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: true)
            #expect(times.lookup(123) == Self.base)
            #expect(times.lastEntry == nil)
        }
    }

    /// More than 1024 entries: the warm-tail search and the cold-head search agree with a scan.
    @Test func warmTailSearchMatchesALinearScan() throws {
        try withTemporaryDirectory { dir throws in
            let count = 3000
            #expect(count > OffsetIndex.warmBytes / OffsetIndex.entrySize)
            let index = try Self.filledOffsetIndex(dir, count: count, maxBytes: count * 8)
            #expect(index.isFull)
            let last = Self.base + 2 + 3 * Int64(count - 1)
            var targets: [Int64] = [Int64.min, 0, Self.base - 1, Self.base, Self.base + 1, Self.base + 2, last - 1, last, last + 1, Int64.max]
            // Around the warm/cold boundary and a spread of the rest.
            let warmStart = count - OffsetIndex.warmBytes / OffsetIndex.entrySize
            for i in (warmStart - 3)...(warmStart + 3) { targets += [index.entry(i).offset - 1, index.entry(i).offset, index.entry(i).offset + 1] }
            targets += stride(from: Self.base, through: last + 3, by: 7)
            for target in targets {
                #expect(Self.pair(index.lookup(target)) == Self.pair(Self.linearLookup(index, target)), "target \(target)")
            }
        }
    }

    @Test func isFullAtThePreallocatedSize() throws {
        try withTemporaryDirectory { dir throws in
            // 10 whole entries; the 5 extra bytes are not usable.
            let index = try OffsetIndex(directory: dir, baseOffset: Self.base, maxBytes: 8 * 10 + 5, writable: true)
            #expect(index.file.capacity == 10)
            #expect(try fileSize(dir.appending(indexFileName(Self.base))) == 80)
            for i in 0..<10 {
                #expect(!index.isFull)
                index.append(offset: Self.base + Int64(i), position: Int64(i) * 10)
            }
            #expect(index.isFull)
            #expect(index.entryCount == 10)

            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 12 * 3 + 11, writable: true)
            #expect(times.file.capacity == 3)
            for i in 0..<5 { times.maybeAppend(timestamp: Int64(100 + i), offset: Self.base + Int64(i)) }
            #expect(times.isFull)
            #expect(times.entryCount == 3, "appends past the capacity are dropped")
            #expect(Self.pair(times.lastEntry!) == [102, Self.base + 2])
        }
    }

    @Test func truncateFromAnOffset() throws {
        try withTemporaryDirectory { dir throws in
            let index = try Self.filledOffsetIndex(dir, count: 5, maxBytes: 4096)  // offsets 1002, 1005, 1008, 1011, 1014
            index.truncate(from: Self.base + 9)
            #expect(index.entryCount == 3)
            index.truncate(from: Self.base + 8)
            #expect(index.entryCount == 2, "an entry at the offset goes")
            #expect(Self.pair(index.lookup(Int64.max)) == [Self.base + 5, 150])
            index.truncate(from: Self.base + 100)
            #expect(index.entryCount == 2, "nothing at or after the offset")
            index.append(offset: Self.base + 6, position: 170)
            #expect(Self.pair(index.lookup(Self.base + 7)) == [Self.base + 6, 170])
            index.truncate(from: Self.base)
            #expect(index.entryCount == 0)
            #expect(Self.pair(index.lookup(Self.base + 50)) == [Self.base, 0])

            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: true)
            for i in 0..<5 { times.maybeAppend(timestamp: 100 * Int64(i + 1), offset: Self.base + 2 * Int64(i)) }
            times.truncate(from: Self.base + 5)  // offsets 1000, 1002, 1004 stay
            #expect(times.entryCount == 3)
            #expect(Self.pair(times.lastEntry!) == [300, Self.base + 4])
            times.truncate(from: Self.base + 4)
            #expect(times.entryCount == 2)
            times.truncate(from: Self.base)
            #expect(times.entryCount == 0)
        }
    }

    @Test func trimThenReopenReadOnlyGivesTheSameLookups() throws {
        try withTemporaryDirectory { dir throws in
            let count = 1500
            let index = try Self.filledOffsetIndex(dir, count: count, maxBytes: 64 * 1024)
            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 64 * 1024, writable: true)
            for i in 0..<count { times.maybeAppend(timestamp: 10_000 + 7 * Int64(i), offset: Self.base + 2 + 3 * Int64(i)) }
            let targets = Array(stride(from: Self.base - 2, through: Self.base + 3 * Int64(count) + 5, by: 1))
            let timeTargets = Array(stride(from: Int64(9_990), through: 10_000 + 7 * Int64(count) + 10, by: 1))
            let before = targets.map { index.lookup($0) }
            let timesBefore = timeTargets.map { times.lookup($0) }
            try index.file.trimToValidSize()
            try times.file.trimToValidSize()
            #expect(try fileSize(dir.appending(indexFileName(Self.base))) == count * 8)
            #expect(try fileSize(dir.appending(timeIndexFileName(Self.base))) == count * 12)

            let reopened = try OffsetIndex(directory: dir, baseOffset: Self.base, maxBytes: 64 * 1024, writable: false)
            let reopenedTimes = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 64 * 1024, writable: false)
            #expect(reopened.entryCount == count)
            #expect(reopenedTimes.entryCount == count)
            #expect(reopened.isSane(logSize: Int64.max))
            #expect(reopenedTimes.isSane())
            let after = targets.map { reopened.lookup($0) }
            #expect(zip(before, after).allSatisfy { $0.offset == $1.offset && $0.position == $1.position })
            #expect(timeTargets.map { reopenedTimes.lookup($0) } == timesBefore)
            // Read-only opens do not grow the file back.
            #expect(try fileSize(dir.appending(indexFileName(Self.base))) == count * 8)
        }
    }

    // MARK: Sanity checks

    static func writeEntries(_ path: FilePath, _ entries: [(Int32, Int32)], extra: Int = 0) throws {
        var bytes: [UInt8] = []
        for (a, b) in entries {
            withUnsafeBytes(of: a.bigEndian) { bytes += $0 }
            withUnsafeBytes(of: b.bigEndian) { bytes += $0 }
        }
        bytes += [UInt8](repeating: 7, count: extra)
        try FileManager.default.overwrite(path, with: bytes)
    }

    static func writeTimeEntries(_ path: FilePath, _ entries: [(Int64, Int32)], extra: Int = 0) throws {
        var bytes: [UInt8] = []
        for (t, o) in entries {
            withUnsafeBytes(of: t.bigEndian) { bytes += $0 }
            withUnsafeBytes(of: o.bigEndian) { bytes += $0 }
        }
        bytes += [UInt8](repeating: 7, count: extra)
        try FileManager.default.overwrite(path, with: bytes)
    }

    @Test func offsetIndexSanityCheck() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir.appending(indexFileName(Self.base))
            func sane(logSize: Int64 = 10_000) throws -> Bool {
                try OffsetIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: false).isSane(logSize: logSize)
            }
            try Self.writeEntries(path, [(1, 100), (4, 200), (9, 300)])
            #expect(try sane())
            #expect(try !sane(logSize: 300), "a position past the log end")
            try Self.writeEntries(path, [(1, 100), (4, 200), (9, 300)], extra: 3)
            #expect(try !sane(), "a partial entry")
            try Self.writeEntries(path, [(1, 100), (9, 200), (4, 300)])
            #expect(try !sane(), "decreasing offsets")
            try Self.writeEntries(path, [(1, 100), (4, 200), (4, 300)])
            #expect(try !sane(), "a repeated offset")
            try Self.writeEntries(path, [(-1, 100), (4, 200)])
            #expect(try !sane(), "an offset below the base")
            try Self.writeEntries(path, [(0, 0), (0, 0), (0, 0)])
            #expect(try !sane(), "a zero-filled file")
        }
    }

    @Test func timeIndexSanityCheck() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir.appending(timeIndexFileName(Self.base))
            func sane() throws -> Bool {
                try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: false).isSane()
            }
            try Self.writeTimeEntries(path, [(100, 1), (200, 4), (300, 9)])
            #expect(try sane())
            try Self.writeTimeEntries(path, [(100, 1), (200, 4), (300, 9)], extra: 5)
            #expect(try !sane(), "a partial entry")
            try Self.writeTimeEntries(path, [(100, 1), (300, 4), (200, 9)])
            #expect(try !sane(), "decreasing timestamps")
            try Self.writeTimeEntries(path, [(100, 1), (200, -1)])
            #expect(try !sane(), "an offset below the base")
            try Self.writeTimeEntries(path, [(0, 0), (0, 0), (0, 0)])
            #expect(try !sane(), "a zero-filled file")
        }
    }

    // MARK: Time index

    @Test func timeIndexAppendsOnlyGrowingTimestamps() throws {
        try withTemporaryDirectory { dir throws in
            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: true)
            times.maybeAppend(timestamp: 100, offset: Self.base + 1)
            times.maybeAppend(timestamp: 100, offset: Self.base + 2)  // same timestamp: no entry
            times.maybeAppend(timestamp: 90, offset: Self.base + 3)   // older: no entry
            #expect(times.entryCount == 1)
            times.maybeAppend(timestamp: 200, offset: Self.base + 4)
            times.maybeAppend(timestamp: 300, offset: Self.base + 3)  // offset going back: no entry
            #expect(times.entryCount == 2)
            times.maybeAppend(timestamp: 300, offset: Self.base + 4)  // same offset, larger timestamp
            #expect(times.entryCount == 3)
            #expect(Self.pair(times.entry(0)) == [100, Self.base + 1])
            #expect(Self.pair(times.entry(1)) == [200, Self.base + 4])
            #expect(Self.pair(times.lastEntry!) == [300, Self.base + 4])
            #expect(times.isSane())
        }
    }

    /// A lookup answers the offset of the greatest entry with a timestamp strictly below the target.
    @Test func timeIndexLookupIsStrict() throws {
        try withTemporaryDirectory { dir throws in
            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 4096, writable: true)
            times.maybeAppend(timestamp: 100, offset: Self.base + 1)
            times.maybeAppend(timestamp: 200, offset: Self.base + 4)
            times.maybeAppend(timestamp: 300, offset: Self.base + 9)
            #expect(times.lookup(Int64.min) == Self.base)
            #expect(times.lookup(99) == Self.base)
            #expect(times.lookup(100) == Self.base, "equal to the first entry: not strictly below")
            #expect(times.lookup(101) == Self.base + 1)
            #expect(times.lookup(200) == Self.base + 1)
            #expect(times.lookup(201) == Self.base + 4)
            #expect(times.lookup(300) == Self.base + 4)
            #expect(times.lookup(301) == Self.base + 9)
            #expect(times.lookup(Int64.max) == Self.base + 9)
        }
    }
    /// With more entries than the 8 KiB warm tail holds, every lookup still equals a linear scan.
    @Test func timeIndexWarmTailSearchMatchesALinearScan() throws {
        try withTemporaryDirectory { dir throws in
            let times = try TimeIndex(directory: dir, baseOffset: Self.base, maxBytes: 3000 * TimeIndex.entrySize, writable: true)
            var entries: [(timestamp: Int64, offset: Int64)] = []
            for i in 0..<2000 {
                let entry = (timestamp: Int64(1_000 + i * 10), offset: Self.base + Int64(i * 3))
                times.maybeAppend(timestamp: entry.timestamp, offset: entry.offset)
                entries.append(entry)
            }
            #expect(times.entryCount == 2000)
            for target in stride(from: Int64(900), through: 21_100, by: 7) {
                let expected = entries.last(where: { $0.timestamp < target })?.offset ?? Self.base
                #expect(times.lookup(target) == expected, "target \(target)")
            }
        }
    }
}

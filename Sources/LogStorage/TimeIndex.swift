import SystemPackage

/// The sparse time index of one segment, `<base offset>.timeindex` (Kafka `TimeIndex`, KIP-33).
///
/// Each 12-byte big-endian entry is (timestamp int64, relative offset int32): `timestamp` is the
/// largest record timestamp seen up to and including offset `baseOffset + relative offset`, so
/// timestamps never decrease along the file. An entry is added with each offset index entry when
/// the largest timestamp grew, and once more when the segment rolls so the last entry holds the
/// segment's largest timestamp. A lookup finds the greatest entry with a timestamp below the target:
/// every record up to its offset is older than the target, so the answer lies after it.
final class TimeIndex {
    static let entrySize = 12

    let baseOffset: Int64
    let file: MappedIndexFile

    /// - Parameter suffix: appended to the file name (`.cleaned` while the cleaner writes a segment).
    init(directory: FilePath, baseOffset: Int64, maxBytes: Int, writable: Bool, suffix: String = "") throws {
        self.baseOffset = baseOffset
        file = try MappedIndexFile(path: directory.appending(LogSegment.fileName(baseOffset: baseOffset, suffix: ".timeindex" + suffix)),
                                   entrySize: Self.entrySize, maxBytes: maxBytes, writable: writable)
    }

    var entryCount: Int { file.entryCount }
    var isFull: Bool { file.isFull }

    func entry(_ i: Int) -> (timestamp: Int64, offset: Int64) {
        (file.int64(entry: i, field: 0), baseOffset + Int64(file.int32(entry: i, field: 8)))
    }

    var lastEntry: (timestamp: Int64, offset: Int64)? { entryCount > 0 ? entry(entryCount - 1) : nil }

    /// Appends (timestamp, offset) when `timestamp` is larger than the last entry's.
    func maybeAppend(timestamp: Int64, offset: Int64) {
        if let last = lastEntry, timestamp <= last.timestamp || offset < last.offset { return }
        guard !file.isFull else { return }
        file.setInt64(timestamp, entry: entryCount, field: 0)
        file.setInt32(Int32(offset - baseOffset), entry: entryCount, field: 8)
        file.commitEntry()
    }

    /// The offset after which the first record with a timestamp at or after `target` lies: the
    /// offset of the greatest entry whose timestamp is below `target`, or `baseOffset`.
    /// Like the offset index, the warm tail (the last 8 KiB of entries) is searched first when the
    /// target lies in it, so lookups for recent times touch only recently written pages.
    func lookup(_ target: Int64) -> Int64 {
        let n = entryCount
        let warmStart = max(0, n - OffsetIndex.warmBytes / Self.entrySize)
        let key = { (i: Int) in self.entry(i).timestamp }
        let range = warmStart > 0 && key(warmStart) < target ? warmStart..<n : 0..<n
        return greatestEntry(in: range, key: key, atMost: target, strict: true).map { entry($0).offset } ?? baseOffset
    }

    /// Drops entries for offsets at or after `offset`.
    func truncate(from offset: Int64) {
        var keep = entryCount
        while keep > 0 && entry(keep - 1).offset >= offset { keep -= 1 }
        file.truncateEntries(to: keep)
    }

    /// Whole entries, strictly increasing timestamps (``maybeAppend(timestamp:offset:)`` never
    /// repeats one, so a zero-filled preallocated tail fails), non-decreasing offsets at or above the base.
    func isSane() -> Bool {
        guard (try? file.fileSize()).map({ $0 % Int64(Self.entrySize) == 0 }) ?? false else { return false }
        var previous: (timestamp: Int64, offset: Int64) = (Int64.min, Int64.min)
        for i in 0..<entryCount {
            let e = entry(i)
            if e.offset < baseOffset || e.timestamp <= previous.timestamp || e.offset < previous.offset { return false }
            previous = e
        }
        return true
    }
}

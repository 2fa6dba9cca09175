import SystemPackage

/// The sparse offset index of one segment, `<base offset>.index` (Kafka `OffsetIndex`).
///
/// Each 8-byte big-endian entry is (relative offset int32, position int32): the batch that starts at
/// byte `position` of the `.log` file ends at offset `baseOffset + relative offset`. An entry is
/// added once at least `index.interval.bytes` of data were appended since the last one, so the index
/// is sparse; a lookup finds the greatest entry at or below the target and the caller scans batch
/// headers forward from its position. Lookups binary-search the warm tail (the last 8 KiB of
/// entries, the pages recent appends touched) before the cold head, as Kafka does, so tailing
/// consumers touch few pages.
final class OffsetIndex {
    static let entrySize = 8
    /// Bytes of entries at the end of the file searched first.
    static let warmBytes = 8192

    let baseOffset: Int64
    let file: MappedIndexFile

    /// - Parameter suffix: appended to the file name (`.cleaned` while the cleaner writes a segment).
    init(directory: FilePath, baseOffset: Int64, maxBytes: Int, writable: Bool, suffix: String = "") throws {
        self.baseOffset = baseOffset
        file = try MappedIndexFile(path: directory.appending(LogSegment.fileName(baseOffset: baseOffset, suffix: ".index" + suffix)),
                                   entrySize: Self.entrySize, maxBytes: maxBytes, writable: writable)
    }

    var entryCount: Int { file.entryCount }
    var isFull: Bool { file.isFull }

    func entry(_ i: Int) -> (offset: Int64, position: Int64) {
        (baseOffset + Int64(file.int32(entry: i, field: 0)), Int64(UInt32(bitPattern: file.int32(entry: i, field: 4))))
    }

    /// Appends (last offset of a batch, its position); offsets must increase.
    func append(offset: Int64, position: Int64) {
        if entryCount > 0 { precondition(offset > entry(entryCount - 1).offset, "offset index \(file.path) must increase") }
        file.setInt32(Int32(offset - baseOffset), entry: entryCount, field: 0)
        file.setInt32(Int32(truncatingIfNeeded: position), entry: entryCount, field: 4)
        file.commitEntry()
    }

    /// The greatest entry whose offset is at or below `target`; (baseOffset, 0) when there is none.
    func lookup(_ target: Int64) -> (offset: Int64, position: Int64) {
        let n = entryCount
        guard n > 0, target >= baseOffset else { return (baseOffset, 0) }
        // Compare relative offsets straight from the map: one 4-byte load per probe.
        let relative = target - baseOffset > Int64(Int32.max) ? Int32.max : Int32(target - baseOffset)
        let warmStart = max(0, n - Self.warmBytes / Self.entrySize)
        var lo = warmStart > 0 && file.int32(entry: warmStart, field: 0) <= relative ? warmStart : 0
        var hi = n - 1
        var found = -1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if file.int32(entry: mid, field: 0) <= relative {
                found = mid
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        return found >= 0 ? entry(found) : (baseOffset, 0)
    }

    /// Drops entries for offsets at or after `offset`.
    func truncate(from offset: Int64) {
        let keep = greatestEntry(in: 0..<entryCount, key: { self.entry($0).offset }, atMost: offset, strict: true).map { $0 + 1 } ?? 0
        file.truncateEntries(to: keep)
    }

    /// Kafka's sanity check: whole entries, increasing offsets at or above the base, positions
    /// within the log file.
    func isSane(logSize: Int64) -> Bool {
        guard (try? file.fileSize()).map({ $0 % Int64(Self.entrySize) == 0 }) ?? false else { return false }
        var previous: Int64 = -1
        for i in 0..<entryCount {
            let e = entry(i)
            if e.offset < baseOffset || e.offset <= previous || e.position >= logSize { return false }
            previous = e.offset
        }
        return true
    }
}

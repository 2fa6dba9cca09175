import SystemPackage

/// The leader epoch → start offset history of one partition (KIP-101), persisted as Kafka's
/// `leader-epoch-checkpoint`: line 1 version `0`, line 2 the entry count, then `epoch startOffset`
/// per line, oldest first.
public struct LeaderEpochCache: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var epoch: Int32
        public var startOffset: Int64
    }

    public private(set) var entries: [Entry] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    public var latestEpoch: Int32? { entries.last?.epoch }

    /// Records that `epoch` starts at `startOffset` if it is newer than the latest known epoch.
    /// - Returns: whether the history changed (and so must be persisted).
    @discardableResult
    public mutating func assign(epoch: Int32, startOffset: Int64) -> Bool {
        if let last = entries.last, last.epoch >= epoch { return false }
        entries.removeAll { $0.startOffset >= startOffset }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
        return true
    }

    /// Kafka's `LeaderEpochFileCache.endOffsetFor`: the largest epoch at or below `requestedEpoch`
    /// and the offset where it ended (the start of the next epoch, or `logEndOffset` for the latest).
    /// An epoch older than the whole history answers `(requestedEpoch, start of the first known
    /// epoch)`, as Kafka does, so the asker truncates to where this log's history begins.
    /// Returns `(-1, -1)` for an undefined (negative) epoch, an empty history, or an epoch above the latest.
    public func endOffset(for requestedEpoch: Int32, logEndOffset: Int64) -> (epoch: Int32, endOffset: Int64) {
        guard requestedEpoch >= 0, let first = entries.first, let latest = entries.last else { return (-1, -1) }
        if requestedEpoch == latest.epoch { return (latest.epoch, logEndOffset) }
        guard let floorIndex = entries.lastIndex(where: { $0.epoch <= requestedEpoch }) else {
            return (requestedEpoch, first.startOffset) // older than the history
        }
        if floorIndex == entries.count - 1 { return (-1, -1) } // requested is above the latest epoch
        return (entries[floorIndex].epoch, entries[floorIndex + 1].startOffset)
    }

    /// Drops entries that start at or after `offset` (after the log was truncated there).
    public mutating func truncate(from offset: Int64) {
        entries.removeAll { $0.startOffset >= offset }
    }

    static let fileName = "leader-epoch-checkpoint"

    func write(to directory: FilePath) throws {
        var text = "0\n\(entries.count)\n"
        for e in entries { text += "\(e.epoch) \(e.startOffset)\n" }
        try writeFileAtomically(directory.appending(Self.fileName), contents: text)
    }

    static func read(from directory: FilePath) throws -> LeaderEpochCache {
        guard let text = try readSmallFile(directory.appending(fileName)) else { return LeaderEpochCache() }
        let lines = text.split(separator: "\n")
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), lines.count - 2 == count else {
            throw StorageError.corrupt(path: directory.appending(fileName).string, position: 0, reason: "malformed checkpoint")
        }
        var cache = LeaderEpochCache()
        for line in lines.dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let epoch = Int32(parts[0]), let start = Int64(parts[1]) else {
                throw StorageError.corrupt(path: directory.appending(fileName).string, position: 0, reason: "malformed entry \(line)")
            }
            cache.entries.append(Entry(epoch: epoch, startOffset: start))
        }
        return cache
    }
}

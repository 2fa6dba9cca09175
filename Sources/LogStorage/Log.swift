#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import Logging
import NIOCore
import SystemPackage

/// One partition's log: a directory `<topic>-<partition>` of segments, the last one active.
///
/// Not thread-safe: exactly one owner (the broker's partition actor) calls it. Appends take a
/// record batch as the producer sent it, assign the base offset and partition leader epoch in
/// place (both outside the CRC-covered range) and write the bytes unchanged otherwise.
public final class Log {
    /// The partition directory.
    public let directory: FilePath
    public private(set) var config: LogConfig
    private var segments: [LogSegment]
    /// First offset still in the log (retention moves it forward in the storage engine issue).
    public private(set) var logStartOffset: Int64 = 0
    /// Leader epoch history (`leader-epoch-checkpoint`).
    public private(set) var leaderEpochCache: LeaderEpochCache
    private let logger: Logger

    /// The offset the next appended record gets.
    public var logEndOffset: Int64 { segments.last!.nextOffset }
    /// Bytes across all segments.
    public var sizeBytes: Int64 { segments.reduce(0) { $0 + $1.sizeBytes } }
    public var segmentCount: Int { segments.count }
    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { segments.map(\.baseOffset) }

    /// Opens the log in `directory`, creating it when missing, and recovers every segment:
    /// batches are validated (length, magic, CRC-32C, ascending offsets); the first invalid byte
    /// and everything after it, including later segments, is removed and the cut is logged.
    /// - Throws: ``StorageError`` when the directory or a file cannot be read or written.
    public init(directory: FilePath, config: LogConfig, logger: Logger) throws {
        self.directory = directory
        self.config = config
        self.logger = logger
        try makeDirectories(directory)
        let names = try listDirectory(directory)
        let bases = names.compactMap { name -> Int64? in
            guard name.hasSuffix(".log"), name.count == 24 else { return nil }
            return Int64(name.dropLast(4))
        }.sorted()
        var loaded: [LogSegment] = []
        var cut = false
        for base in bases {
            let path = directory.appending(LogSegment.fileName(baseOffset: base, suffix: ".log"))
            if cut || (loaded.last.map { base < $0.nextOffset } ?? false) {
                logger.warning("deleting segment after a corrupt or overlapping one", metadata: ["path": "\(path)"])
                _ = unlink(path.string)
                continue
            }
            let (segment, truncated) = try LogSegment.recover(path: path, baseOffset: base, indexIntervalBytes: config.indexIntervalBytes)
            if truncated > 0 {
                logger.warning("truncated invalid bytes at the end of a segment",
                               metadata: ["path": "\(path)", "bytes": "\(truncated)", "size": "\(segment.sizeBytes)"])
                cut = true
            }
            loaded.append(segment)
        }
        if loaded.isEmpty {
            loaded.append(try LogSegment.create(directory: directory, baseOffset: 0, indexIntervalBytes: config.indexIntervalBytes))
        }
        segments = loaded
        logStartOffset = loaded[0].baseOffset
        var cache = (try? LeaderEpochCache.read(from: directory)) ?? LeaderEpochCache()
        let end = loaded.last!.nextOffset
        cache.truncate(from: end + 1)
        leaderEpochCache = cache
    }

    /// Records that `epoch` starts at the current log end offset, as a new leader does (KIP-101),
    /// and persists the history when it changed.
    public func assignLeaderEpoch(_ epoch: Int32) throws {
        if leaderEpochCache.assign(epoch: epoch, startOffset: logEndOffset) {
            try leaderEpochCache.write(to: directory)
        }
    }

    /// Appends one validated record batch.
    /// - Parameters:
    ///   - batch: the batch bytes; its baseOffset and partitionLeaderEpoch are overwritten.
    ///   - header: the batch header as validated.
    ///   - leaderEpoch: the partition's current leader epoch, stamped into the batch.
    /// - Returns: the assigned base offset.
    /// - Throws: ``StorageError`` on I/O failure or a batch larger than `segment.bytes`.
    @discardableResult
    public func append(_ batch: ByteBuffer, header: RecordBatchHeader, leaderEpoch: Int32) throws -> Int64 {
        guard header.totalSize <= config.segmentBytes else {
            throw StorageError.batchLargerThanSegment(size: header.totalSize, segmentBytes: config.segmentBytes)
        }
        let baseOffset = logEndOffset
        try maybeRoll(incomingBytes: header.totalSize, lastOffsetDelta: header.lastOffsetDelta)
        var bytes = batch
        RecordBatchHeader.assign(baseOffset: baseOffset, partitionLeaderEpoch: leaderEpoch, in: &bytes, at: bytes.readerIndex)
        var stamped = header
        stamped.baseOffset = baseOffset
        stamped.partitionLeaderEpoch = leaderEpoch
        if leaderEpochCache.assign(epoch: leaderEpoch, startOffset: baseOffset) {
            try leaderEpochCache.write(to: directory)
        }
        try segments[segments.count - 1].append(bytes, header: stamped)
        if config.flushOnAppend { try segments[segments.count - 1].flush() }
        return baseOffset
    }

    private func maybeRoll(incomingBytes: Int, lastOffsetDelta: Int32) throws {
        let active = segments[segments.count - 1]
        let tooBig = active.sizeBytes > 0 && active.sizeBytes + Int64(incomingBytes) > Int64(config.segmentBytes)
        let offsetOverflow = logEndOffset + Int64(lastOffsetDelta) - active.baseOffset > Int64(Int32.max)
        guard tooBig || offsetOverflow else { return }
        try active.flush()
        let next = try LogSegment.create(directory: directory, baseOffset: logEndOffset, indexIntervalBytes: config.indexIntervalBytes)
        segments.append(next)
        logger.debug("rolled segment", metadata: ["dir": "\(directory)", "baseOffset": "\(next.baseOffset)"])
    }

    /// Forces every segment to disk.
    public func flush() throws {
        for segment in segments { try segment.flush() }
    }

    /// Closes the open files.
    public func close() {
        for segment in segments { segment.close() }
    }

    /// Applies a new configuration to later appends.
    public func updateConfig(_ config: LogConfig) { self.config = config }

    // Internal access for the read extension.
    var allSegments: [LogSegment] { segments }
}

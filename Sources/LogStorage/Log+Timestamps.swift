import KafkaProtocol
import NIOCore

extension Log {
    /// A record located by a timestamp query.
    public struct TimestampAndOffset: Sendable, Equatable {
        /// Milliseconds since the epoch.
        public var timestamp: Int64
        public var offset: Int64
        /// The partition leader epoch stamped in the record's batch.
        public var leaderEpoch: Int32
    }

    /// The first record whose timestamp is at or after `target` (KIP-79), or `nil` when there is none
    /// below `upperBound`. The first segment whose largest timestamp reaches the target is picked,
    /// its time index finds where to start, batch headers are scanned for the first max timestamp at
    /// or after the target, and that batch's records are read (decompressed if needed).
    /// - Parameter target: milliseconds since the epoch.
    public func offsetForTimestamp(_ target: Int64, upperBound: Int64) throws -> TimestampAndOffset? {
        try directoryHealth?.checkRead()
        for segment in segments where segment.largestTimestamp >= target {
            touch(segment)
            guard var position = try segment.position(ofTimestamp: target) else { continue }
            while position < segment.sizeBytes {
                let header = try segment.header(at: position)
                if header.baseOffset >= upperBound { return nil }
                if header.maxTimestamp >= target {
                    let batch = try batchBytes(segment: segment, position: position, header: header)
                    for (offset, timestamp) in try recordTimestamps(batch, header: header)
                    where timestamp >= target && offset >= logStartOffset && offset < upperBound {
                        return TimestampAndOffset(timestamp: timestamp, offset: offset, leaderEpoch: header.partitionLeaderEpoch)
                    }
                }
                position += Int64(header.totalSize)
            }
        }
        return nil
    }

    /// The record with the largest timestamp below `upperBound` (ListOffsets -3, KIP-734); the first
    /// such record on ties. `nil` when the log is empty.
    public func maxTimestampRecord(upperBound: Int64) throws -> TimestampAndOffset? {
        try directoryHealth?.checkRead()
        var best: (header: RecordBatchHeader, segment: LogSegment, position: Int64)?
        // Segments whose largest timestamp cannot beat the best so far are skipped unread.
        for segment in segments where segment.largestTimestamp > (best?.header.maxTimestamp ?? -1) || segment.isActive {
            var stop = false
            try forEachBatch(inSegment: segment) { header, position in
                if header.baseOffset >= upperBound { stop = true; return false }
                if header.maxTimestamp > (best?.header.maxTimestamp ?? Int64.min) { best = (header, segment, position) }
                return true
            }
            if stop { break }
        }
        guard let best else { return nil }
        let batch = try batchBytes(segment: best.segment, position: best.position, header: best.header)
        let records = try recordTimestamps(batch, header: best.header)
        let match = records.first { $0.timestamp == best.header.maxTimestamp } ?? (best.header.lastOffset, best.header.maxTimestamp)
        return TimestampAndOffset(timestamp: match.timestamp, offset: match.offset, leaderEpoch: best.header.partitionLeaderEpoch)
    }

    private func forEachBatch(inSegment segment: LogSegment, _ body: (RecordBatchHeader, Int64) throws -> Bool) throws {
        touch(segment)
        var position: Int64 = 0
        while position < segment.sizeBytes {
            let header = try segment.header(at: position)
            if try !body(header, position) { return }
            position += Int64(header.totalSize)
        }
    }

    /// Offsets and timestamps of every record in `batch`.
    private func recordTimestamps(_ batch: ByteBuffer, header: RecordBatchHeader) throws -> [(offset: Int64, timestamp: Int64)] {
        if header.isLogAppendTime {
            return (0...Int64(header.lastOffsetDelta)).map { (header.baseOffset + $0, header.maxTimestamp) }
        }
        return try RecordBatchHeader.records(of: batch, maxUncompressedBytes: 64 << 20).map {
            (header.baseOffset + Int64($0.offsetDelta), header.baseTimestamp + $0.timestampDelta)
        }
    }
}

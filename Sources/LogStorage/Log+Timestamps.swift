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
    /// below `upperBound`. Batches are skipped by their maxTimestamp; inside the matching batch the
    /// records are read, decompressing if needed.
    /// - Parameter target: milliseconds since the epoch.
    public func offsetForTimestamp(_ target: Int64, upperBound: Int64) throws -> TimestampAndOffset? {
        var found: TimestampAndOffset?
        var failure: (any Error)?
        try forEachBatch(from: logStartOffset) { header, segment, position in
            if header.baseOffset >= upperBound { return false }
            guard header.maxTimestamp >= target else { return true }
            do {
                let batch = try batchBytes(segment: segment, position: position, header: header)
                for (offset, timestamp) in try recordTimestamps(batch, header: header) where timestamp >= target && offset >= logStartOffset {
                    found = TimestampAndOffset(timestamp: timestamp, offset: offset, leaderEpoch: header.partitionLeaderEpoch)
                    return false
                }
            } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        return found
    }

    /// The record with the largest timestamp below `upperBound` (ListOffsets -3, KIP-734); the first
    /// such record on ties. `nil` when the log is empty.
    public func maxTimestampRecord(upperBound: Int64) throws -> TimestampAndOffset? {
        var best: (header: RecordBatchHeader, segment: LogSegment, position: Int64)?
        try forEachBatch(from: logStartOffset) { header, segment, position in
            if header.baseOffset >= upperBound { return false }
            if best == nil || header.maxTimestamp > best!.header.maxTimestamp { best = (header, segment, position) }
            return true
        }
        guard let best else { return nil }
        let batch = try batchBytes(segment: best.segment, position: best.position, header: best.header)
        let records = try recordTimestamps(batch, header: best.header)
        let match = records.first { $0.timestamp == best.header.maxTimestamp } ?? (best.header.lastOffset, best.header.maxTimestamp)
        return TimestampAndOffset(timestamp: match.timestamp, offset: match.offset, leaderEpoch: best.header.partitionLeaderEpoch)
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

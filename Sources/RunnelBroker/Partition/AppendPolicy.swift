import KafkaProtocol
import NIOCore

/// What a topic does to each produced batch between validation and the log (Kafka `LogValidator`):
/// timestamp checks, the codec batches are stored with, and LogAppendTime stamping.
///
/// Records are decoded only when a rule needs them: a compacted topic (every record needs a key),
/// a finite `message.timestamp.before.max.ms`, or a `compression.type` other than `producer` that
/// differs from the batch's codec. Otherwise the batch is stored as it arrived.
public struct AppendPolicy: Sendable, Equatable {
    /// `message.timestamp.type=LogAppendTime`: the broker's clock replaces the batch's timestamps.
    public var logAppendTime: Bool
    /// `message.timestamp.before.max.ms` (KIP-937): with CreateTime, how far before the broker's
    /// clock a record's timestamp may lie, in ms; `Int64.max` disables the check.
    public var timestampBeforeMaxMs: Int64
    /// `message.timestamp.after.max.ms` (KIP-937): with CreateTime, how far after the broker's
    /// clock a timestamp may lie, in ms; `Int64.max` disables the check.
    public var timestampAfterMaxMs: Int64
    /// `compression.type`: `nil` for `producer` (keep the producer's codec), else the codec every
    /// batch is stored with (`.none` for `uncompressed`).
    public var compression: CompressionCodec?

    public init(logAppendTime: Bool = false, timestampBeforeMaxMs: Int64 = .max, timestampAfterMaxMs: Int64 = .max,
                compression: CompressionCodec? = nil) {
        self.logAppendTime = logAppendTime
        self.timestampBeforeMaxMs = timestampBeforeMaxMs
        self.timestampAfterMaxMs = timestampAfterMaxMs
        self.compression = compression
    }

    /// Bound on the decompressed size of one batch when its records must be read.
    static let maxUncompressedBytes = 64 << 20

    /// Applies the rules to one validated batch, rewriting `batch` and `header` when the codec
    /// changes or LogAppendTime stamps it.
    /// - Parameters:
    ///   - requireKeys: the topic is compacted, so every record must have a key.
    ///   - maxBatchBytes: `max.message.bytes`; a recompressed batch must fit too.
    ///   - nowMs: the broker's wall clock in ms since the epoch.
    /// - Throws: ``RecordValidationError`` with INVALID_TIMESTAMP, INVALID_RECORD (a record without
    ///   a key on a compacted topic), CORRUPT_MESSAGE (records that cannot be read) or
    ///   MESSAGE_TOO_LARGE (the recompressed batch); ``CompressionError`` if compressing fails.
    func apply(to batch: inout ByteBuffer, header: inout RecordBatchHeader, requireKeys: Bool, maxBatchBytes: Int,
               nowMs: Int64) throws {
        let checkTimestamps = !logAppendTime && !header.isControl
        let earliest = timestampBeforeMaxMs == .max ? Int64.min : nowMs - timestampBeforeMaxMs
        let latest = timestampAfterMaxMs >= Int64.max - nowMs ? Int64.max : nowMs + timestampAfterMaxMs
        if checkTimestamps, header.maxTimestamp > latest {
            throw timestampError(header.maxTimestamp, offset: header.baseOffset + Int64(header.lastOffsetDelta),
                                 earliest: earliest, latest: latest)
        }
        let target = compression.flatMap { $0.rawValue == header.compressionCodecID ? nil : $0 }
        let perRecordTimestamps = checkTimestamps && earliest != .min
        // A max timestamp below the first record's means the producer left it unset (sarama
        // 1.22 writes -1): recompute it from the records, as Kafka's LogValidator always does,
        // because the time index, timestamp lookups and time retention all read it.
        let fixMaxTimestamp = !logAppendTime && header.maxTimestamp < header.baseTimestamp
        guard requireKeys || perRecordTimestamps || target != nil || fixMaxTimestamp else {
            if logAppendTime { Self.stampLogAppendTime(&batch, header: &header, nowMs: nowMs) }
            return
        }
        let records: [Record]
        do {
            records = try RecordBatchHeader.records(of: batch, maxUncompressedBytes: Self.maxUncompressedBytes)
        } catch {
            throw RecordValidationError(.corruptMessage, "records could not be read: \(error)")
        }
        if requireKeys, records.contains(where: { $0.key == nil }) {
            throw RecordValidationError(.invalidRecord, "Compacted topic cannot accept message without key")
        }
        if checkTimestamps {
            for record in records {
                let ts = header.baseTimestamp &+ record.timestampDelta
                // -1 is NO_TIMESTAMP (records up-converted from magic 0), which Kafka's LogValidator does not bound.
                if ts != -1 && (ts < earliest || ts > latest) {
                    throw timestampError(ts, offset: header.baseOffset + Int64(record.offsetDelta), earliest: earliest, latest: latest)
                }
            }
        }
        if fixMaxTimestamp {
            let computed = records.map { header.baseTimestamp &+ $0.timestampDelta }.max() ?? header.baseTimestamp
            if computed > latest {
                throw timestampError(computed, offset: header.baseOffset, earliest: earliest, latest: latest)
            }
            header.maxTimestamp = computed
            if target == nil { Self.rewriteHeaderFields(&batch, header: &header) }
        }
        if let target {
            let rewritten = try RecordBatchHeader.recompressed(header: header, records: records, to: target)
            guard rewritten.header.totalSize <= maxBatchBytes else {
                throw RecordValidationError(.messageTooLarge,
                                            "batch recompressed with \(target) is \(rewritten.header.totalSize) bytes, above max.message.bytes \(maxBatchBytes)")
            }
            batch = rewritten.batch
            header = rewritten.header
        }
        if logAppendTime { Self.stampLogAppendTime(&batch, header: &header, nowMs: nowMs) }
    }

    private func timestampError(_ ts: Int64, offset: Int64, earliest: Int64, latest: Int64) -> RecordValidationError {
        RecordValidationError(.invalidTimestamp,
                              "Timestamp \(ts) of message with offset delta \(offset) is out of range. The timestamp should be within [\(earliest), \(latest)] (message.timestamp.before.max.ms / message.timestamp.after.max.ms)")
    }

    /// Writes `header`'s attributes and max timestamp into `batch` and recomputes the CRC-32C,
    /// which covers both.
    static func rewriteHeaderFields(_ batch: inout ByteBuffer, header: inout RecordBatchHeader) {
        let start = batch.readerIndex
        batch.setInteger(header.attributes, at: start + RecordBatchHeader.Field.attributes, endianness: .big)
        batch.setInteger(header.maxTimestamp, at: start + RecordBatchHeader.Field.maxTimestamp, endianness: .big)
        let crc = batch.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes..<header.totalSize]))
        }
        header.crc = crc
        batch.setInteger(crc, at: start + RecordBatchHeader.Field.crc, endianness: .big)
    }

    /// Rewrites a batch for a LogAppendTime topic: attribute bit 3 set, maxTimestamp = broker time,
    /// and the CRC-32C recomputed because both fields are covered by it (Kafka `LogValidator`).
    static func stampLogAppendTime(_ batch: inout ByteBuffer, header: inout RecordBatchHeader, nowMs: Int64) {
        header.attributes |= 0x8
        header.maxTimestamp = nowMs
        rewriteHeaderFields(&batch, header: &header)
    }
}

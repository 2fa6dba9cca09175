import NIOCore

/// Conversion between legacy message sets and RecordBatch v2, as Kafka 3.x brokers did for
/// Produce v0-2 and Fetch v0-3 (Kafka `LogValidator` up-conversion, `RecordsUtil.downConvert`).
extension LegacyMessageSet {
    /// Up-conversion of a produced message set into ONE RecordBatch v2 (magic 2), as Kafka's
    /// `LogValidator` does before appending: records in order at offset deltas 0...n-1 (the
    /// producer's offsets are ignored, the broker assigns them), keys and values kept, each
    /// record's timestamp kept (magic 0 has none, so its records carry -1, `NO_TIMESTAMP`),
    /// base timestamp = the first record's, max timestamp = the largest, CreateTime, no producer
    /// id / epoch / sequence (-1), leader epoch -1, base offset 0, and the records compressed with
    /// the producer's codec (a topic's `compression.type` is applied afterwards, by the append path).
    ///
    /// - Parameter decoded: a set from ``decode(_:maxUncompressedBytes:)``.
    /// - Returns: the batch bytes and header.
    /// - Throws: ``RecordValidationError`` INVALID_TIMESTAMP when the producer marked a message
    ///   LogAppendTime (only the broker may); ``CompressionError`` if compressing fails.
    public static func upConverted(_ decoded: Decoded) throws -> (batch: ByteBuffer, header: RecordBatchHeader) {
        if decoded.records.contains(where: \.isLogAppendTime) {
            throw RecordValidationError(.invalidTimestamp, "Invalid timestamp type in message: producer should not set timestamp type to LogAppendTime")
        }
        precondition(!decoded.records.isEmpty, "a decoded message set has at least one record")
        let baseTimestamp = decoded.records[0].timestamp
        let records = decoded.records.enumerated().map { index, record in
            Record(timestampDelta: record.timestamp &- baseTimestamp, offsetDelta: Int32(index), key: record.key, value: record.value)
        }
        let header = RecordBatchHeader(
            baseOffset: 0, batchLength: 0, partitionLeaderEpoch: -1, magic: 2, crc: 0, attributes: 0,
            lastOffsetDelta: Int32(records.count - 1), baseTimestamp: baseTimestamp,
            maxTimestamp: decoded.records.map(\.timestamp).max() ?? baseTimestamp,
            producerID: -1, producerEpoch: -1, baseSequence: -1, recordsCount: Int32(records.count))
        return try RecordBatchHeader.recompressed(header: header, records: records, to: decoded.codec)
    }

    /// What ``downConverted(_:toMagic:fromOffset:maxBytes:minOneMessage:maxUncompressedBytes:)`` produced.
    public struct DownConverted: Sendable {
        /// Uncompressed messages of the requested magic, back to back.
        public var messageSet: ByteBuffer
        /// Messages in ``messageSet``.
        public var messageCount: Int
        /// The offset after the last batch that was fully examined (converted or skipped), or
        /// `nil` when no batch was; a caller that got no messages but a `resumeOffset` (only
        /// control batches were read) may read again from there.
        public var resumeOffset: Int64?
        /// Conversion stopped because the next message would pass `maxBytes`.
        public var reachedByteLimit: Bool
    }

    /// Down-conversion of RecordBatch v2 bytes (as a log read returns them) into a legacy message
    /// set for Fetch v0-3, after Kafka's `RecordsUtil.downConvert`: control batches are skipped,
    /// headers dropped, offsets kept absolute, timestamps kept for magic 1 (the batch's max
    /// timestamp for LogAppendTime batches, with attribute bit 3) and dropped for magic 0.
    ///
    /// Runnel writes the messages **uncompressed** (Kafka keeps the batch's codec in a wrapper):
    /// one message per record needs no wrapper offset arithmetic (KIP-31 relative vs magic-0
    /// absolute), no LZ4 frame with magic 0's broken header checksum (KAFKA-3160) and no
    /// recompression per fetch, and records before `fromOffset` can be left out, as Kafka does for
    /// uncompressed batches. The price is bytes on the wire for compressed topics.
    ///
    /// - Parameters:
    ///   - batches: whole v2 batches from the reader index; a cut-off batch at the end is ignored.
    ///   - toMagic: 0 (Fetch v0-1) or 1 (Fetch v2-3).
    ///   - fromOffset: the fetch offset; earlier records of the first batch are left out.
    ///   - maxBytes: the byte budget for the message set.
    ///   - minOneMessage: return the first message even when it alone exceeds `maxBytes` (KIP-74).
    ///   - maxUncompressedBytes: bound on one batch's decompressed records.
    /// - Throws: ``RecordValidationError`` UNSUPPORTED_COMPRESSION_TYPE for a zstd batch (KIP-110:
    ///   zstd needs Fetch v10); ``CompressionError`` or ``ProtocolError`` for unreadable records.
    public static func downConverted(_ batches: ByteBuffer, toMagic: Int8, fromOffset: Int64, maxBytes: Int,
                                     minOneMessage: Bool, maxUncompressedBytes: Int) throws -> DownConverted {
        precondition(toMagic == 0 || toMagic == 1, "down-conversion targets magic 0 or 1")
        var input = batches
        var out = DownConverted(messageSet: ByteBuffer(), messageCount: 0, resumeOffset: nil, reachedByteLimit: false)
        while let next = input.readRecordBatch() {
            let header = next.header
            if header.isControl {
                out.resumeOffset = header.nextOffset
                continue
            }
            if header.compressionCodecID == CompressionCodec.zstd.rawValue {
                throw RecordValidationError(.unsupportedCompressionType, "zstd batches need Fetch v10 or later (KIP-110)")
            }
            for record in try RecordBatchHeader.records(of: next.batch, maxUncompressedBytes: maxUncompressedBytes) {
                let offset = header.baseOffset + Int64(record.offsetDelta)
                if offset < fromOffset { continue }
                let timestamp = header.isLogAppendTime ? header.maxTimestamp : header.baseTimestamp &+ record.timestampDelta
                let message = message(LegacyRecord(offset: offset, timestamp: timestamp, isLogAppendTime: header.isLogAppendTime,
                                                   key: record.key, value: record.value), magic: toMagic)
                let fitsAnyway = minOneMessage && out.messageCount == 0
                guard out.messageSet.readableBytes + message.sizeInBytes <= maxBytes || fitsAnyway else {
                    out.reachedByteLimit = true
                    return out
                }
                message.encode(to: &out.messageSet)
                out.messageCount += 1
            }
            out.resumeOffset = header.nextOffset
        }
        return out
    }
}

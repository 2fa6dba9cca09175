import KafkaProtocol
import NIOCore

/// The legacy message formats (magic 0 and 1) that Produce v0-2 and Fetch v0-3 carry. The log
/// stores RecordBatch v2 only, so the broker converts at the edge, as Kafka 3.x did: produced
/// message sets are up-converted before the append path, fetched batches down-converted after
/// the read (KIP-896 removed both in Kafka 4.0).
enum LegacyFormat {
    /// Bound on a compressed message set's or batch's decompressed size.
    static let maxUncompressedBytes = 64 << 20
    /// Reads that found only control batches are retried from the next batch at most this often.
    static let maxControlBatchSkips = 8

    /// Whether produced `records` are a legacy message set. The magic byte sits at byte 16 in both
    /// formats (after offset, size and CRC in a legacy entry; after base offset, length and leader
    /// epoch in a v2 batch), so one peek tells them apart. Kafka 3.x also accepted magic-2 batches
    /// in Produce v0-2; those take the v3+ path unchanged.
    static func isLegacyMessageSet(_ records: ByteBuffer) -> Bool {
        guard let magic = records.getInteger(at: records.readerIndex + RecordBatchHeader.Field.magic, as: Int8.self) else {
            return false
        }
        return magic == 0 || magic == 1
    }

    /// The message format a Fetch version returns: magic 0 for v0-1, magic 1 (KIP-32 timestamps)
    /// for v2-3, `nil` (RecordBatch v2 as stored) from v4.
    static func fetchMagic(version: Int16) -> Int8? {
        switch version {
        case ..<2: return 0
        case 2...3: return 1
        default: return nil
        }
    }
}

extension RequestHandlers {
    /// Up-converts a produced legacy message set into the one magic-2 batch the append path takes
    /// (Kafka `LogValidator`): the producer's codec is kept (a topic `compression.type` applies
    /// later, in ``AppendPolicy``), and `max.message.bytes` is checked against each top-level
    /// message here and against the converted batch by the append path, as Kafka checks both.
    /// - Throws: ``RecordValidationError`` (CORRUPT_MESSAGE, INVALID_RECORD, INVALID_TIMESTAMP,
    ///   UNSUPPORTED_COMPRESSION_TYPE, MESSAGE_TOO_LARGE); ``CompressionError``.
    func legacyRecordsAsBatch(_ records: ByteBuffer, partition: Partition) async throws -> ByteBuffer {
        let decoded = try LegacyMessageSet.decode(records, maxUncompressedBytes: LegacyFormat.maxUncompressedBytes)
        let maxMessageBytes = await partition.logConfig.maxMessageBytes
        guard decoded.largestEntryBytes <= maxMessageBytes else {
            throw RecordValidationError(.messageTooLarge,
                                        "message of \(decoded.largestEntryBytes) bytes exceeds max.message.bytes \(maxMessageBytes)")
        }
        return try LegacyMessageSet.upConverted(decoded).batch
    }

    /// Down-converts what a log read returned into a legacy message set of `magic` for Fetch v0-3:
    /// records from `fetchOffset` on, uncompressed, within `limit` bytes, the first message even
    /// past it when `firstData` (KIP-74). A read that held only control batches (nothing a
    /// legacy consumer sees) is repeated from the next batch so the consumer moves on.
    /// - Returns: the message set (possibly empty).
    /// - Throws: what ``Partition/read(from:maxBytes:isReplica:)`` and
    ///   ``LegacyMessageSet/downConverted(_:toMagic:fromOffset:maxBytes:minOneMessage:maxUncompressedBytes:)`` throw.
    func downConverted(_ stored: ByteBuffer, partition: Partition, magic: Int8, fetchOffset: Int64, limit: Int,
                       firstData: Bool, isReplica: Bool) async throws -> ByteBuffer {
        var records = stored
        var offset = fetchOffset
        for _ in 0...LegacyFormat.maxControlBatchSkips {
            let converted = try LegacyMessageSet.downConverted(
                records, toMagic: magic, fromOffset: offset, maxBytes: limit, minOneMessage: firstData,
                maxUncompressedBytes: LegacyFormat.maxUncompressedBytes)
            guard converted.messageCount == 0, !converted.reachedByteLimit,
                  let resume = converted.resumeOffset, resume > offset
            else { return converted.messageSet }
            offset = resume
            records = try await partition.read(from: offset, maxBytes: max(limit, firstData ? 1 : 0), isReplica: isReplica).records
        }
        return ByteBuffer()
    }
}

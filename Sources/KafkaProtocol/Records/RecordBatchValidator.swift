import NIOCore

/// Why a produced record set was refused, with the Kafka error it becomes on the wire.
public struct RecordValidationError: Error, Sendable, CustomStringConvertible {
    public var errorCode: ErrorCode
    public var message: String
    public init(_ errorCode: ErrorCode, _ message: String) {
        self.errorCode = errorCode
        self.message = message
    }
    public var description: String { "\(errorCode): \(message)" }
}

/// Header-only validation of a record set as a producer sent it (Produce v3+), after Kafka's
/// `ProduceRequest.validateRecords` and `LogValidator`: exactly one magic-2 batch, whole, with a
/// matching CRC-32C and a record count consistent with lastOffsetDelta. Records are not decompressed.
public enum RecordBatchValidator {
    /// Validates `records` and returns the batch header.
    /// - Parameters:
    ///   - records: the bytes of the `records` field of one produce partition.
    ///   - maxBatchBytes: `max.message.bytes` of the topic; a larger batch is MESSAGE_TOO_LARGE.
    /// - Throws: ``RecordValidationError`` with CORRUPT_MESSAGE (bad CRC or length), INVALID_RECORD
    ///   (wrong magic, not exactly one batch, inconsistent counts) or MESSAGE_TOO_LARGE.
    public static func validateProduced(_ records: ByteBuffer, maxBatchBytes: Int) throws -> RecordBatchHeader {
        let start = records.readerIndex
        guard records.readableBytes >= RecordBatchHeader.size else {
            throw RecordValidationError(.corruptMessage, "record set of \(records.readableBytes) bytes is shorter than a batch header")
        }
        guard let magic = records.getInteger(at: start + RecordBatchHeader.Field.magic, as: Int8.self), magic == 2 else {
            throw RecordValidationError(.invalidRecord, "only magic 2 record batches are accepted")
        }
        guard let header = RecordBatchHeader.peek(records, at: start) else {
            throw RecordValidationError(.corruptMessage, "unreadable batch header")
        }
        guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
            throw RecordValidationError(.corruptMessage, "batch length \(header.batchLength) is below the header size")
        }
        guard header.totalSize <= records.readableBytes else {
            throw RecordValidationError(.corruptMessage, "batch length \(header.batchLength) runs past the record set")
        }
        guard header.totalSize == records.readableBytes else {
            throw RecordValidationError(.invalidRecord, "a produce partition must carry exactly one record batch")
        }
        guard header.totalSize <= maxBatchBytes else {
            throw RecordValidationError(.messageTooLarge, "batch of \(header.totalSize) bytes exceeds max.message.bytes \(maxBatchBytes)")
        }
        guard RecordBatchHeader.crcMatches(records, at: start, header: header) else {
            throw RecordValidationError(.corruptMessage, "CRC-32C mismatch")
        }
        guard header.recordsCount > 0, Int64(header.lastOffsetDelta) + 1 == Int64(header.recordsCount) else {
            throw RecordValidationError(.invalidRecord, "record count \(header.recordsCount) does not match lastOffsetDelta \(header.lastOffsetDelta)")
        }
        guard header.compressionCodecID <= 4 else {
            throw RecordValidationError(.invalidRecord, "unknown compression codec \(header.compressionCodecID)")
        }
        guard header.attributes & ~0x7F == 0 else {
            throw RecordValidationError(.invalidRecord, "unused attribute bits are set")
        }
        return header
    }
}

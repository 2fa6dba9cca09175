import KafkaProtocol
import NIOCore

/// Rewrites a batch for a LogAppendTime topic: attribute bit 3 set, maxTimestamp = broker time,
/// and the CRC-32C recomputed because both fields are covered by it (Kafka `LogValidator`).
enum LogAppendTime {
    static func stamp(_ batch: inout ByteBuffer, header: inout RecordBatchHeader, nowMs: Int64) {
        let start = batch.readerIndex
        header.attributes |= 0x8
        header.maxTimestamp = nowMs
        batch.setInteger(header.attributes, at: start + RecordBatchHeader.Field.attributes, endianness: .big)
        batch.setInteger(nowMs, at: start + RecordBatchHeader.Field.maxTimestamp, endianness: .big)
        let crc = batch.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Field.attributes..<header.totalSize]))
        }
        header.crc = crc
        batch.setInteger(crc, at: start + RecordBatchHeader.Field.crc, endianness: .big)
    }
}

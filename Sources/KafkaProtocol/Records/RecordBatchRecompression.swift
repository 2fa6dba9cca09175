import NIOCore

extension RecordBatchHeader {
    /// Rewrites a batch so its records are stored with `codec`, as a broker does for a topic whose
    /// `compression.type` names a codec other than the producer's (Kafka `LogValidator`,
    /// "recompression"). Every header field except the codec bits of the attributes, the batch
    /// length and the CRC-32C is kept: base offset, leader epoch, timestamps, producer id, epoch
    /// and base sequence (so idempotent-producer state is unaffected).
    ///
    /// - Parameters:
    ///   - header: the batch's header (from ``peek(_:at:)`` or the validator).
    ///   - records: the batch's records, already decoded (``records(of:maxUncompressedBytes:)``);
    ///     their timestamp and offset deltas are written unchanged.
    ///   - codec: the codec to store with; `.none` writes the records uncompressed.
    /// - Returns: the new batch bytes and its header.
    /// - Throws: ``CompressionError`` if the compressor fails.
    public static func recompressed(header: RecordBatchHeader, records: [Record],
                                    to codec: CompressionCodec) throws -> (batch: ByteBuffer, header: RecordBatchHeader) {
        var body = ByteBuffer()
        for record in records { record.encode(to: &body) }
        var out = header
        out.attributes = (header.attributes & ~0x7) | codec.rawValue
        let bytes = encodeBatch(out, body: try codec.compress(body))
        out.batchLength = Int32(bytes.readableBytes - logOverhead)
        out.crc = bytes.getInteger(at: Field.crc, endianness: .big, as: UInt32.self)!
        return (bytes, out)
    }

    /// A magic-2 batch from `header`'s fields and `body`, the records section as stored (already
    /// compressed for a compressed batch): `batchLength` and the CRC-32C are computed, the other
    /// fields are written as given (protocol guide, "Record Batch").
    public static func encodeBatch(_ header: RecordBatchHeader, body: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(size + body.readableBytes)
        out.writeInteger(header.baseOffset, endianness: .big)
        out.writeInteger(Int32(size - logOverhead + body.readableBytes), endianness: .big)
        out.writeInteger(header.partitionLeaderEpoch, endianness: .big)
        out.writeInteger(Int8(2))
        out.writeInteger(UInt32(0), endianness: .big) // CRC, filled below
        out.writeInteger(header.attributes, endianness: .big)
        out.writeInteger(header.lastOffsetDelta, endianness: .big)
        out.writeInteger(header.baseTimestamp, endianness: .big)
        out.writeInteger(header.maxTimestamp, endianness: .big)
        out.writeInteger(header.producerID, endianness: .big)
        out.writeInteger(header.producerEpoch, endianness: .big)
        out.writeInteger(header.baseSequence, endianness: .big)
        out.writeInteger(header.recordsCount, endianness: .big)
        out.writeImmutableBuffer(body)
        let crc = out.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[Field.attributes...]))
        }
        out.setInteger(crc, at: Field.crc, endianness: .big)
        return out
    }
}

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
        let stored = try codec.compress(body)
        var out = header
        out.attributes = (header.attributes & ~0x7) | codec.rawValue
        out.batchLength = Int32(size - logOverhead + stored.readableBytes)
        var bytes = ByteBuffer()
        bytes.reserveCapacity(size + stored.readableBytes)
        bytes.writeInteger(out.baseOffset, endianness: .big)
        bytes.writeInteger(out.batchLength, endianness: .big)
        bytes.writeInteger(out.partitionLeaderEpoch, endianness: .big)
        bytes.writeInteger(Int8(2))
        bytes.writeInteger(UInt32(0), endianness: .big) // CRC, filled below
        bytes.writeInteger(out.attributes, endianness: .big)
        bytes.writeInteger(out.lastOffsetDelta, endianness: .big)
        bytes.writeInteger(out.baseTimestamp, endianness: .big)
        bytes.writeInteger(out.maxTimestamp, endianness: .big)
        bytes.writeInteger(out.producerID, endianness: .big)
        bytes.writeInteger(out.producerEpoch, endianness: .big)
        bytes.writeInteger(out.baseSequence, endianness: .big)
        bytes.writeInteger(out.recordsCount, endianness: .big)
        bytes.writeImmutableBuffer(stored)
        out.crc = bytes.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[Field.attributes...]))
        }
        bytes.setInteger(out.crc, at: Field.crc, endianness: .big)
        return (bytes, out)
    }
}

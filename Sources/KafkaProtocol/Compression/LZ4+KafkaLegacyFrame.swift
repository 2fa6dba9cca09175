import CXXHash
import NIOCore

/// Reading the LZ4 frames of legacy messages (magic 0 and 1).
///
/// Kafka before 0.10 computed the frame's header checksum (HC) over the 4 magic bytes plus the
/// frame descriptor instead of over the descriptor alone (KAFKA-3160, KIP-57). Magic-0 messages
/// were written that way and readers ignore their HC (Kafka's `KafkaLZ4BlockInputStream` with
/// `ignoreFlagDescriptorChecksum`, kafka-python's `lz4_decode_old_kafka`); magic 1 (Kafka 0.10+)
/// and RecordBatch v2 carry the correct HC, which is enforced.
extension LZ4Codec {
    /// `input` with the HC byte of its first frame set to the correct value (the second byte of
    /// XXH32 over the frame descriptor), so that a frame written with Kafka's old, broken HC
    /// decodes. Input that is not an LZ4 frame, or too short to hold a frame header, is returned
    /// unchanged (the decoder then reports it).
    /// XXH32 with seed 0, the hash of the LZ4 frame header checksum, from libxxhash (Debian's
    /// libxxhash-dev; liblz4 keeps its own copy private).
    static func xxh32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(XXH32(bytes.baseAddress, bytes.count, 0))
    }

    static func withCorrectedHeaderChecksum(_ input: ByteBuffer) -> ByteBuffer {
        let start = input.readerIndex
        guard input.readableBytes >= 7,
              input.getInteger(at: start, endianness: .little, as: UInt32.self) == frameMagic,
              let flags = input.getInteger(at: start + 4, as: UInt8.self)
        else { return input }
        // Descriptor: FLG, BD, then an 8-byte content size (FLG bit 3) and a 4-byte dictionary
        // id (FLG bit 0) when flagged; the HC byte follows it.
        var descriptorLength = 2
        if flags & 0x08 != 0 { descriptorLength += 8 }
        if flags & 0x01 != 0 { descriptorLength += 4 }
        let checksumIndex = start + 4 + descriptorLength
        guard checksumIndex < input.writerIndex else { return input }
        let checksum = input.withUnsafeReadableBytes { raw in
            xxh32(UnsafeRawBufferPointer(rebasing: raw[4..<(4 + descriptorLength)]))
        }
        var fixed = input
        fixed.setInteger(UInt8(truncatingIfNeeded: checksum >> 8), at: checksumIndex)
        return fixed
    }
}

extension CompressionCodec {
    /// Decompresses the value of a legacy wrapper message (magic 0 or 1): the same framings as
    /// ``decompress(_:maxOutputBytes:)``, except that for magic 0 an LZ4 frame's header checksum is
    /// not enforced (KAFKA-3160).
    /// - Throws: ``CompressionError`` as ``decompress(_:maxOutputBytes:)`` does.
    func decompressLegacyValue(_ input: ByteBuffer, magic: Int8, maxOutputBytes: Int) throws -> ByteBuffer {
        if self == .lz4 && magic == 0 {
            return try decompress(LZ4Codec.withCorrectedHeaderChecksum(input), maxOutputBytes: maxOutputBytes)
        }
        return try decompress(input, maxOutputBytes: maxOutputBytes)
    }
}

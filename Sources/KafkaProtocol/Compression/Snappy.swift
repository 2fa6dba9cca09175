import CSnappy
import NIOCore

/// Snappy for RecordBatch codec 2, via the snappy C API.
///
/// Two encodings coexist in Kafka:
/// - snappy-java ("xerial") framing, written by the Java client (`SnappyOutputStream`),
///   kafka-python and aiokafka: the 8-byte magic `82 53 4E 41 50 50 59 00` ("\x82SNAPPY\0"),
///   int32 BE version (1), int32 BE minimum compatible version (1), then repeated
///   `[int32 BE compressed length][raw snappy block]`, each block holding at most 32 KiB of input.
/// - one raw snappy block (snappy `format_description.txt`), written by librdkafka.
///
/// Readers tell them apart by the magic (snappy-java `SnappyInputStream`, librdkafka
/// `rdkafka_msgset_reader.c`, kafka-python `codec.py`). This is not Snappy's official
/// "framing format" (stream identifier `FF 06 00 00 73 4E 61 50 70 59`).
enum SnappyCodec {
    /// snappy-java's stream magic, "\x82SNAPPY\0".
    static let magic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// Magic + version + compatible version.
    static let headerSize = 16
    /// snappy-java `SnappyOutputStream` default block size: input bytes per raw block.
    static let blockSize = 32 * 1024

    private static func hasMagic(_ src: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        guard src.count - offset >= magic.count else { return false }
        for i in 0..<magic.count where src[offset + i] != magic[i] { return false }
        return true
    }

    private static func readInt32BE(_ src: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(src[offset + i]) }
        return Int32(bitPattern: value)
    }

    /// snappy-java framing: header, then one raw block per 32 KiB of input.
    static func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let blocks = (src.count + blockSize - 1) / blockSize
            let perBlockBound = snappy_max_compressed_length(blockSize)
            var out = ByteBufferAllocator().buffer(capacity: headerSize + blocks * (4 + perBlockBound))
            out.writeBytes(magic)
            out.writeInteger(Int32(1), endianness: .big)  // version
            out.writeInteger(Int32(1), endianness: .big)  // minimum compatible version
            let base = UnsafeRawPointer(CompressionSupport.base(src)).assumingMemoryBound(to: CChar.self)
            var offset = 0
            while offset < src.count {
                let chunk = min(blockSize, src.count - offset)
                let lengthIndex = out.writerIndex
                out.writeInteger(Int32(0), endianness: .big)  // patched below
                let bound = snappy_max_compressed_length(chunk)
                let written = try out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst -> Int in
                    guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .snappy, code: 0, message: "no output buffer") }
                    var length = dst.count
                    let status = snappy_compress(base + offset, chunk, dstBase.assumingMemoryBound(to: CChar.self), &length)
                    guard status == SNAPPY_OK else {
                        throw CompressionError.libraryError(codec: .snappy, code: Int(status.rawValue), message: "snappy_compress failed")
                    }
                    return length
                }
                out.setInteger(Int32(written), at: lengthIndex, endianness: .big)
                offset += chunk
            }
            return out
        }
    }

    /// snappy-java framing if the input starts with its magic, else one raw snappy block.
    static func decompress(_ input: ByteBuffer, maxOutputBytes limit: Int) throws -> ByteBuffer {
        try input.withUnsafeReadableBytes { src -> ByteBuffer in
            guard hasMagic(src, at: 0) else {
                var out = ByteBufferAllocator().buffer(capacity: 0)
                try decodeBlock(src, offset: 0, count: src.count, into: &out, limit: limit)
                return out
            }
            var out = ByteBufferAllocator().buffer(
                capacity: CompressionSupport.initialCapacity(inputSize: src.count, limit: limit))
            var position = 0
            while position < src.count {
                if hasMagic(src, at: position) {
                    // A (possibly concatenated) stream header; snappy-java skips repeated headers too.
                    guard src.count - position >= headerSize else {
                        throw CompressionError.corruptInput(codec: .snappy, reason: "truncated snappy-java header")
                    }
                    position += headerSize
                    continue
                }
                guard src.count - position >= 4 else {
                    throw CompressionError.corruptInput(codec: .snappy, reason: "truncated block length at byte \(position)")
                }
                let length = Int(readInt32BE(src, at: position))
                position += 4
                guard length >= 0, length <= src.count - position else {
                    throw CompressionError.corruptInput(
                        codec: .snappy, reason: "block length \(length) at byte \(position - 4) exceeds the \(src.count - position) bytes left")
                }
                try decodeBlock(src, offset: position, count: length, into: &out, limit: limit)
                position += length
            }
            return out
        }
    }

    /// Appends the raw snappy block `src[offset ..< offset + count]` to `out`, keeping `out`
    /// within `limit` bytes; the block's declared length is checked before allocating.
    private static func decodeBlock(_ src: UnsafeRawBufferPointer, offset: Int, count: Int,
                                    into out: inout ByteBuffer, limit: Int) throws {
        let block = UnsafeRawPointer(CompressionSupport.base(src) + offset).assumingMemoryBound(to: CChar.self)
        var declared = 0
        guard count > 0, snappy_uncompressed_length(block, count, &declared) == SNAPPY_OK else {
            throw CompressionError.corruptInput(codec: .snappy, reason: "invalid snappy block header")
        }
        guard declared <= limit - out.readableBytes else {
            throw CompressionError.outputTooLarge(codec: .snappy, limit: limit)
        }
        guard declared > 0 else {
            guard snappy_validate_compressed_buffer(block, count) == SNAPPY_OK else {
                throw CompressionError.corruptInput(codec: .snappy, reason: "invalid snappy block")
            }
            return
        }
        try out.writeWithUnsafeMutableBytes(minimumWritableBytes: declared) { dst -> Int in
            guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .snappy, code: 0, message: "no output buffer") }
            var length = declared
            let status = snappy_uncompress(block, count, dstBase.assumingMemoryBound(to: CChar.self), &length)
            guard status == SNAPPY_OK, length == declared else {
                throw CompressionError.corruptInput(codec: .snappy, reason: "invalid snappy block (status \(status.rawValue))")
            }
            return length
        }
    }
}

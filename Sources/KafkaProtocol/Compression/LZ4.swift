import CLZ4
import NIOCore

/// LZ4 for RecordBatch codec 3: the LZ4 frame format (lz4 `doc/lz4_Frame_format.md`,
/// magic `0x184D2204` little-endian) via `lz4frame.h`.
///
/// Kafka's Java `Lz4BlockOutputStream` writes version 01, independent blocks, 64 KiB maximum
/// block size, no block checksum, no content size, no content checksum; its reader rejects frames
/// whose blocks are linked ("Dependent block stream is unsupported"), so this reader does too.
/// kafka-python and aiokafka use `lz4.frame` with `block_linked=False` and may set the content
/// size flag; all optional flags are accepted and their checksums verified.
enum LZ4Codec {
    /// The LZ4 frame magic number (little-endian on the wire).
    static let frameMagic: UInt32 = 0x184D_2204
    /// FLG bit 5: blocks are independent.
    static let blockIndependenceFlag: UInt8 = 0x20

    private static func isError(_ code: Int) -> Bool { LZ4F_isError(code) != 0 }

    private static func errorName(_ code: Int) -> String {
        guard let name = LZ4F_getErrorName(code) else { return "unknown LZ4F error" }
        return String(cString: name)
    }

    /// LZ4F encodes errors as `(size_t)-code`.
    private static func errorCode(_ code: Int) -> Int { 0 &- code }

    /// One LZ4 frame: 64 KiB independent blocks, no checksums, no content size, fast level.
    static func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        preferences.frameInfo.frameType = LZ4F_frame
        preferences.compressionLevel = 0  // LZ4 fast (default) mode

        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let bound = LZ4F_compressFrameBound(src.count, &preferences)
            guard !isError(bound) else {
                throw CompressionError.inputTooLarge(codec: .lz4, size: src.count)
            }
            var out = ByteBufferAllocator().buffer(capacity: bound)
            try out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst -> Int in
                guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .lz4, code: 0, message: "no output buffer") }
                let written = LZ4F_compressFrame(dstBase, dst.count, CompressionSupport.base(src), src.count, &preferences)
                guard !isError(written) else {
                    throw CompressionError.libraryError(codec: .lz4, code: errorCode(written), message: errorName(written))
                }
                return written
            }
            return out
        }
    }

    /// Rejects an LZ4 frame starting at `offset` whose blocks are linked (Kafka's rule).
    /// Other problems (bad magic, reserved bits, header checksum) are left to `LZ4F_decompress`.
    private static func checkFrameHeader(_ src: UnsafeRawBufferPointer, at offset: Int) throws {
        guard src.count - offset >= 5 else { return }
        var magic: UInt32 = 0
        for i in (0..<4).reversed() { magic = magic << 8 | UInt32(src[offset + i]) }
        guard magic == frameMagic else { return }
        if src[offset + 4] & blockIndependenceFlag == 0 {
            throw CompressionError.corruptInput(
                codec: .lz4, reason: "frame uses linked blocks; Kafka requires independent blocks")
        }
    }

    /// Decodes one or more LZ4 frames with `LZ4F_decompress`, at most `limit` bytes of output.
    static func decompress(_ input: ByteBuffer, maxOutputBytes limit: Int) throws -> ByteBuffer {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, LZ4F_getVersion())
        guard !isError(created), let dctx = context else {
            throw CompressionError.libraryError(codec: .lz4, code: errorCode(created), message: errorName(created))
        }
        defer { LZ4F_freeDecompressionContext(dctx) }

        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            guard src.count > 0 else { throw CompressionError.corruptInput(codec: .lz4, reason: "empty input") }
            let base = CompressionSupport.base(src)
            var out = ByteBufferAllocator().buffer(
                capacity: CompressionSupport.initialCapacity(inputSize: src.count, limit: limit))
            var position = 0
            var written = 0
            var atFrameStart = true
            while true {
                if atFrameStart {
                    try checkFrameHeader(src, at: position)
                    atFrameStart = false
                }
                var consumed = src.count - position
                var room = 0
                var hint = 0
                let want = CompressionSupport.nextChunk(written: written, limit: limit)
                let produced = try out.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { dst -> Int in
                    guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .lz4, code: 0, message: "no output buffer") }
                    room = min(dst.count, CompressionSupport.roomLeft(written: written, limit: limit))
                    var dstSize = room
                    hint = LZ4F_decompress(dctx, dstBase, &dstSize, base + position, &consumed, nil)
                    return isError(hint) ? 0 : dstSize
                }
                if isError(hint) {
                    throw CompressionError.corruptInput(codec: .lz4, reason: errorName(hint))
                }
                written += produced
                position += consumed
                if written > limit { throw CompressionError.outputTooLarge(codec: .lz4, limit: limit) }
                if hint == 0 {
                    // A frame ended and is fully flushed; another may follow.
                    if position == src.count { return out }
                    atFrameStart = true
                    continue
                }
                if position == src.count && produced < room {
                    throw CompressionError.corruptInput(codec: .lz4, reason: "truncated frame")
                }
                if consumed == 0 && produced == 0 {
                    throw CompressionError.corruptInput(codec: .lz4, reason: "decoder made no progress")
                }
            }
        }
    }
}

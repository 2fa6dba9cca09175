import CZstd
import NIOCore

/// Zstandard for RecordBatch codec 4 (KIP-110): standard zstd frames (RFC 8878) via libzstd.
///
/// Java producers (zstd-jni `ZstdOutputStream`) stream their output and do not record the
/// content size in the frame header, so decompression uses `ZSTD_decompressStream` into a
/// growing buffer rather than trusting a declared size (as librdkafka's `rdkafka_zstd.c` does).
/// The decoder keeps libzstd's default window limit (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`, 128 MiB),
/// the same as zstd-jni's.
enum ZstdCodec {
    /// The compression level used when Runnel itself compresses (Kafka's default zstd level).
    static let level: Int32 = 3

    private static func isError(_ code: Int) -> Bool { ZSTD_isError(code) != 0 }

    private static func errorName(_ code: Int) -> String {
        guard let name = ZSTD_getErrorName(code) else { return "unknown zstd error" }
        return String(cString: name)
    }

    /// zstd encodes errors as `(size_t)-code`.
    private static func errorCode(_ code: Int) -> Int { 0 &- code }

    /// One zstd frame at level 3 (`ZSTD_compress`; the content size is recorded).
    static func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let bound = ZSTD_compressBound(src.count)
            guard !isError(bound), bound > 0 else {
                throw CompressionError.inputTooLarge(codec: .zstd, size: src.count)
            }
            var out = ByteBufferAllocator().buffer(capacity: bound)
            try out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst -> Int in
                guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .zstd, code: 0, message: "no output buffer") }
                let written = ZSTD_compress(dstBase, dst.count, CompressionSupport.base(src), src.count, level)
                guard !isError(written) else {
                    throw CompressionError.libraryError(codec: .zstd, code: errorCode(written), message: errorName(written))
                }
                return written
            }
            return out
        }
    }

    /// Streams one or more zstd frames (skippable frames allowed) through `ZSTD_decompressStream`,
    /// at most `limit` bytes of output.
    static func decompress(_ input: ByteBuffer, maxOutputBytes limit: Int) throws -> ByteBuffer {
        guard let dctx = ZSTD_createDCtx() else {
            throw CompressionError.libraryError(codec: .zstd, code: 0, message: "ZSTD_createDCtx failed")
        }
        defer { ZSTD_freeDCtx(dctx) }

        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            guard src.count > 0 else { throw CompressionError.corruptInput(codec: .zstd, reason: "empty input") }
            var inBuffer = ZSTD_inBuffer(src: CompressionSupport.base(src), size: src.count, pos: 0)
            var out = ByteBufferAllocator().buffer(
                capacity: CompressionSupport.initialCapacity(inputSize: src.count, limit: limit))
            var written = 0
            while true {
                let consumedBefore = inBuffer.pos
                var room = 0
                var hint = 0
                let want = CompressionSupport.nextChunk(written: written, limit: limit)
                let produced = try out.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { dst -> Int in
                    guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .zstd, code: 0, message: "no output buffer") }
                    room = min(dst.count, CompressionSupport.roomLeft(written: written, limit: limit))
                    var outBuffer = ZSTD_outBuffer(dst: dstBase, size: room, pos: 0)
                    hint = ZSTD_decompressStream(dctx, &outBuffer, &inBuffer)
                    return isError(hint) ? 0 : outBuffer.pos
                }
                if isError(hint) {
                    throw CompressionError.corruptInput(codec: .zstd, reason: errorName(hint))
                }
                written += produced
                if written > limit { throw CompressionError.outputTooLarge(codec: .zstd, limit: limit) }
                let inputDone = inBuffer.pos == inBuffer.size
                if hint == 0 && inputDone { return out }  // last frame complete and flushed
                // With input gone and output room to spare, the decoder needs bytes that do not exist.
                if inputDone && produced < room {
                    throw CompressionError.corruptInput(codec: .zstd, reason: "truncated frame")
                }
                if inBuffer.pos == consumedBefore && produced == 0 {
                    throw CompressionError.corruptInput(codec: .zstd, reason: "decoder made no progress")
                }
            }
        }
    }
}

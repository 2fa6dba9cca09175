import CZlib
import NIOCore

/// gzip (RFC 1952) for RecordBatch codec 1, via zlib.
///
/// Kafka's Java client writes one gzip member with `GZIPOutputStream`; kafka-python and aiokafka
/// use Python's `gzip` module. Neither is raw deflate nor a zlib (RFC 1950) stream.
enum GzipCodec {
    /// zlib `windowBits` for gzip output: 32 KiB window (15) + 16 = write a gzip wrapper.
    private static let gzipWindowBits: Int32 = 15 + 16
    /// zlib `windowBits` for input: 32 KiB window (15) + 32 = detect gzip or zlib wrapper.
    private static let autoDetectWindowBits: Int32 = 15 + 32
    /// The most bytes handed to zlib per call (its counters are 32-bit).
    private static let maxChunk = 1 << 30

    private static func error(_ rc: Int32, _ stream: UnsafeMutablePointer<z_stream>, _ what: String) -> CompressionError {
        let message = stream.pointee.msg.map { String(cString: $0) } ?? what
        return .libraryError(codec: .gzip, code: Int(rc), message: message)
    }

    /// One gzip member of `input`'s readable bytes at zlib's default level.
    static func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // z_stream must not move between calls (zlib checks state->strm == strm), hence the heap copy.
        let rc = deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw error(rc, stream, "deflateInit2 failed") }
        defer { deflateEnd(stream) }

        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let base = CompressionSupport.base(src)
            let bound = Int(deflateBound(stream, uLong(min(src.count, maxChunk))))
            var out = ByteBufferAllocator().buffer(capacity: max(bound, 64))
            var offset = 0
            while true {
                if stream.pointee.avail_in == 0 && offset < src.count {
                    let chunk = min(src.count - offset, maxChunk)
                    stream.pointee.next_in = base + offset
                    stream.pointee.avail_in = uInt(chunk)
                    offset += chunk
                }
                let flush = offset == src.count ? Z_FINISH : Z_NO_FLUSH
                var rc = Z_OK
                try out.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { dst -> Int in
                    guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .gzip, code: 0, message: "no output buffer") }
                    let room = min(dst.count, maxChunk)
                    stream.pointee.next_out = dstBase.assumingMemoryBound(to: UInt8.self)
                    stream.pointee.avail_out = uInt(room)
                    rc = deflate(stream, flush)
                    return room - Int(stream.pointee.avail_out)
                }
                switch rc {
                case Z_STREAM_END: return out
                case Z_OK, Z_BUF_ERROR: continue  // more output space or input needed
                default: throw error(rc, stream, "deflate failed")
                }
            }
        }
    }

    /// Inflates one or more concatenated gzip (or zlib) members, at most `limit` bytes of output.
    static func decompress(_ input: ByteBuffer, maxOutputBytes limit: Int) throws -> ByteBuffer {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        let rc = inflateInit2_(stream, autoDetectWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw error(rc, stream, "inflateInit2 failed") }
        defer { inflateEnd(stream) }

        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let base = CompressionSupport.base(src)
            var out = ByteBufferAllocator().buffer(
                capacity: CompressionSupport.initialCapacity(inputSize: src.count, limit: limit))
            var offset = 0
            var written = 0
            while true {
                if stream.pointee.avail_in == 0 && offset < src.count {
                    let chunk = min(src.count - offset, maxChunk)
                    stream.pointee.next_in = base + offset
                    stream.pointee.avail_in = uInt(chunk)
                    offset += chunk
                }
                var rc = Z_OK
                let want = CompressionSupport.nextChunk(written: written, limit: limit)
                written += try out.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { dst -> Int in
                    guard let dstBase = dst.baseAddress else { throw CompressionError.libraryError(codec: .gzip, code: 0, message: "no output buffer") }
                    let room = min(dst.count, CompressionSupport.roomLeft(written: written, limit: limit), maxChunk)
                    stream.pointee.next_out = dstBase.assumingMemoryBound(to: UInt8.self)
                    stream.pointee.avail_out = uInt(room)
                    rc = inflate(stream, Z_NO_FLUSH)
                    return room - Int(stream.pointee.avail_out)
                }
                if written > limit { throw CompressionError.outputTooLarge(codec: .gzip, limit: limit) }
                let inputLeft = stream.pointee.avail_in != 0 || offset < src.count
                switch rc {
                case Z_STREAM_END:
                    if !inputLeft { return out }
                    // Another member follows (GZIPInputStream reads concatenated members too).
                    let reset = inflateReset(stream)
                    guard reset == Z_OK else { throw error(reset, stream, "inflateReset failed") }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where !inputLeft:
                    throw CompressionError.corruptInput(codec: .gzip, reason: "truncated stream")
                case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                    throw CompressionError.corruptInput(codec: .gzip, reason: message)
                default:
                    throw error(rc, stream, "inflate failed")
                }
            }
        }
    }
}

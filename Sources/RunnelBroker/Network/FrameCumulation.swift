import NIOCore

/// How a connection's read bytes are gathered into whole request frames with one copy at most.
///
/// A produce request of a busy producer is a large frame (librdkafka fills batches of up to
/// `batch.size`, 1,000,000 bytes by default), and the socket delivers it in reads of at most the
/// channel's receive buffer (64 KiB). Appending each read to a growing buffer copies the frame
/// several times as the buffer doubles, and each new allocation touches fresh pages. Instead, once
/// the 4-byte size prefix of an incomplete frame is known, its bytes go into one buffer allocated
/// for the whole frame, so each byte is copied once, as Kafka's `NetworkReceive` reads into a
/// buffer of the announced size. The channel's pooled read buffer is then not retained and is
/// reused for the next read.
///
/// Whole frames at the start of a read are not copied: they are sliced from the read buffer.
enum FrameCumulation {
    /// Frames up to this size get their whole buffer when their size prefix arrives. A larger one
    /// (up to `socket.request.max.bytes`) grows with the bytes actually received, so a client that
    /// announces a huge frame and sends little makes the broker reserve little.
    static let reserveWholeFrameUpTo = 16 * 1024 * 1024

    /// Adds `bytes` (one socket read) to `cumulation`.
    ///
    /// - Parameters:
    ///   - cumulation: bytes read and not yet split into frames; nil when there are none.
    ///   - maxFrameBytes: `socket.request.max.bytes`: a larger announced size is left for
    ///     ``FrameDecoder/nextFrame(from:maxFrameBytes:)`` to refuse, and reserves nothing.
    static func append(_ bytes: ByteBuffer, to cumulation: inout ByteBuffer?, maxFrameBytes: Int, allocator: ByteBufferAllocator) {
        guard var buffer = cumulation, buffer.readableBytes > 0 else {
            // A read that starts with a whole frame (or is too short to tell) is kept as it is:
            // its frames are sliced from it without a copy.
            if let frame = frameBytes(at: bytes, maxFrameBytes: maxFrameBytes), frame > bytes.readableBytes {
                var own = allocator.buffer(capacity: frame)
                own.writeImmutableBuffer(bytes)
                cumulation = own
            } else {
                cumulation = bytes
            }
            return
        }
        cumulation = nil  // `buffer` holds the only reference while it is written to.
        if buffer.writableBytes < bytes.readableBytes {
            let needed = buffer.readableBytes + bytes.readableBytes
            let frame = frameBytes(at: buffer, maxFrameBytes: maxFrameBytes) ?? 0
            var grown = allocator.buffer(capacity: max(needed, frame))
            grown.writeImmutableBuffer(buffer)
            buffer = grown
        }
        buffer.writeImmutableBuffer(bytes)
        cumulation = buffer
    }

    /// Moves what is left after whole frames were sliced from `buffer`, when it is the start of
    /// an incomplete frame, into a buffer of its own sized for that frame: the slices passed on
    /// share the old buffer's storage, and writing to it would copy it again. Whole frames held
    /// back by flow control stay where they are.
    static func detachRemainder(_ buffer: inout ByteBuffer, maxFrameBytes: Int, allocator: ByteBufferAllocator) {
        guard buffer.readableBytes > 0 else { return }
        let frame = frameBytes(at: buffer, maxFrameBytes: maxFrameBytes) ?? 0
        guard buffer.readableBytes < 4 || frame > buffer.readableBytes else { return }
        var own = allocator.buffer(capacity: max(buffer.readableBytes, frame))
        own.writeImmutableBuffer(buffer)
        buffer = own
    }

    /// The size prefix plus the size it announces, for the frame starting at `buffer`'s reader
    /// index, when the prefix is complete and the size valid and at most ``reserveWholeFrameUpTo``.
    static func frameBytes(at buffer: ByteBuffer, maxFrameBytes: Int) -> Int? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self),
              size >= 0, Int(size) <= maxFrameBytes, Int(size) <= reserveWholeFrameUpTo else { return nil }
        return 4 + Int(size)
    }
}

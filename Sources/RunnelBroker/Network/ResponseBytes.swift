import NIOCore

/// One response frame ready to send: size prefix, response header and body, as buffers to be
/// written back to back. Most responses are one buffer; a Fetch response keeps each large record
/// set in the buffer it was read into (``KafkaWriter/spliceBytesAtLeast``), so the records are
/// not copied again on their way to the socket, which gathers the parts in one `writev`.
struct ResponseBytes: Sendable {
    /// The frame's bytes, in order.
    var parts: [ByteBuffer]

    init(_ buffer: ByteBuffer) {
        parts = [buffer]
    }

    init(parts: [ByteBuffer]) {
        self.parts = parts
    }

    /// The frame's size in bytes, size prefix included.
    var byteCount: Int {
        parts.reduce(0) { $0 + $1.readableBytes }
    }

    /// The frame as one buffer (a copy when there are several parts): for tests and tools.
    var joined: ByteBuffer {
        guard parts.count > 1 else { return parts.first ?? ByteBuffer() }
        var out = ByteBuffer()
        out.reserveCapacity(byteCount)
        for part in parts { out.writeImmutableBuffer(part) }
        return out
    }
}

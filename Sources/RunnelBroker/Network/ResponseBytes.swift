import KafkaProtocol
import NIOCore

/// One response frame ready to send: size prefix, response header and body, as parts to be
/// written back to back. Most responses are one buffer. A Fetch response keeps each large record
/// set in the buffer it was read into (``KafkaWriter/spliceBytesAtLeast``), so the records are
/// not copied again on their way to the socket, which gathers the parts in one `writev`; on a
/// plaintext listener a record set can also stay in its segment file and go out with
/// `sendfile(2)` (``KafkaWriter/Part/external(_:)``, ``ResponsePartWriter``).
struct ResponseBytes: Sendable {
    /// The frame's parts, in order.
    var parts: [KafkaWriter.Part]

    init(_ buffer: ByteBuffer) {
        parts = [.bytes(buffer)]
    }

    init(parts: [KafkaWriter.Part]) {
        self.parts = parts
    }

    /// The frame's size in bytes, size prefix included.
    var byteCount: Int {
        parts.reduce(0) { $0 + $1.byteCount }
    }

    /// The frame as one buffer (a copy when there are several parts; file parts are read): for
    /// tests and tools.
    /// - Throws: an I/O error reading a file part.
    func joined() throws -> ByteBuffer {
        if parts.count == 1, case .bytes(let only) = parts[0] { return only }
        var out = ByteBuffer()
        out.reserveCapacity(byteCount)
        for part in parts {
            switch part {
            case .bytes(let buffer): out.writeImmutableBuffer(buffer)
            case .external(let records): out.writeImmutableBuffer(try records.source.readBytes())
            }
        }
        return out
    }
}

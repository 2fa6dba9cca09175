import NIOCore

/// Splits the byte stream from a broker into response frames: an int32 size followed by that many
/// bytes (protocol guide, "Protocol Primitives", request/response framing). The size is dropped.
struct ResponseFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Largest response accepted; a bigger size means a corrupt stream (or a non-Kafka peer).
    let maxFrameBytes: Int
    /// Responses up to this size get room for all of their bytes once their size is known.
    static let reserveWholeFrameUpTo = 64 * 1024 * 1024

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        guard size >= 0, Int(size) <= maxFrameBytes else { throw ResponseFrameError.invalidSize(Int(size)) }
        guard buffer.readableBytes >= 4 + Int(size) else {
            // Gather the rest of a large response (a Fetch) into room reserved once for all of
            // it, not a buffer that doubles, and is copied again, as the reads arrive.
            let missing = 4 + Int(size) - buffer.readableBytes
            if buffer.writableBytes < missing, Int(size) <= Self.reserveWholeFrameUpTo {
                buffer.reserveCapacity(minimumWritableBytes: missing)
            }
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

enum ResponseFrameError: Error, CustomStringConvertible {
    case invalidSize(Int)
    case unexpectedCorrelationID(Int32)

    var description: String {
        switch self {
        case .invalidSize(let size): return "response frame size \(size) is out of range (is this a Kafka broker?)"
        case .unexpectedCorrelationID(let id): return "response with unknown correlation id \(id)"
        }
    }
}

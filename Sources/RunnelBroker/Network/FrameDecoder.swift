import NIOCore

/// Why a connection's byte stream could not be split into requests.
enum FrameError: Error, CustomStringConvertible {
    case tooLarge(size: Int32, limit: Int)
    case negativeSize(Int32)

    var description: String {
        switch self {
        case .tooLarge(let size, let limit):
            return "request size \(size) exceeds socket.request.max.bytes \(limit)"
        case .negativeSize(let size):
            return "negative request size \(size)"
        }
    }
}

/// Splits a Kafka connection into request frames: an int32 big-endian size, then that many bytes
/// (protocol guide, "Common Request and Response Structure"). A size above
/// `socket.request.max.bytes` is refused before any allocation, which closes the connection.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.nextFrame(from: &buffer, maxFrameBytes: maxFrameBytes) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    /// Reads the next whole frame (without its size prefix) from `buffer`.
    /// - Returns: nil, consuming nothing, while the frame is incomplete.
    /// - Throws: ``FrameError`` for a negative size or one above `maxFrameBytes`, before allocating.
    static func nextFrame(from buffer: inout ByteBuffer, maxFrameBytes: Int) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return nil }
        guard size >= 0 else { throw FrameError.negativeSize(size) }
        guard Int(size) <= maxFrameBytes else { throw FrameError.tooLarge(size: size, limit: maxFrameBytes) }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))!
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is dropped with the connection.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

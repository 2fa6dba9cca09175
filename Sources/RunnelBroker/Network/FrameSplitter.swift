import NIOCore

/// Splits a connection's bytes into int32-size-prefixed frames (as ``FrameDecoder``) with
/// ``FrameCumulation``'s buffering: a large frame, such as a follower's Fetch response, is
/// gathered into one buffer sized from its prefix instead of one that doubles as reads arrive.
/// For connections the broker opens itself (to other nodes), which need no flow control;
/// client connections use ``RequestFlowHandler``.
final class FrameSplitter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let maxFrameBytes: Int
    private var cumulation: ByteBuffer?

    /// - Parameter maxFrameBytes: a larger announced frame is a ``FrameError`` that closes the channel.
    init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        FrameCumulation.append(unwrapInboundIn(data), to: &cumulation, maxFrameBytes: maxFrameBytes, allocator: context.channel.allocator)
        guard var buffer = cumulation else { return }
        cumulation = nil
        var passed = false
        do {
            while let frame = try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: maxFrameBytes) {
                passed = true
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        if passed { FrameCumulation.detachRemainder(&buffer, maxFrameBytes: maxFrameBytes, allocator: context.channel.allocator) }
        if buffer.readableBytes > 0 { cumulation = buffer }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cumulation = nil
    }
}

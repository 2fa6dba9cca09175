import NIOCore
import NIOEmbedded
import NIOTestUtils
@testable import RunnelBroker
import Testing

/// The int32-size framing, drip-fed a byte at a time and in mixed chunks by swift-nio's verifier.
struct FrameDecoderTests {
    static func framed(_ payload: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int32(payload.count))
        b.writeBytes(payload)
        return b
    }

    @Test func dripFedFramesComeOutWhole() throws {
        let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300), [9]]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: payloads.map { (Self.framed($0), [ByteBuffer(bytes: $0)]) },
            decoderFactory: { FrameDecoder(maxFrameBytes: 1024) })
    }

    @Test func oversizedFrameIsRefusedBeforeItArrives() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 100)))
        var header = ByteBuffer()
        header.writeInteger(Int32(101))
        #expect(throws: FrameError.self) { try channel.writeInbound(header) }
        _ = try? channel.finish()
    }

    @Test func negativeSizeIsRefused() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 100)))
        var header = ByteBuffer()
        header.writeInteger(Int32(-1))
        #expect(throws: FrameError.self) { try channel.writeInbound(header) }
        _ = try? channel.finish()
    }
}

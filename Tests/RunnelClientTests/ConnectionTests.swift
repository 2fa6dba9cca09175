import KafkaProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
@testable import RunnelClient

@Suite("Broker connection pipeline")
struct ConnectionTests {
    func frame(_ body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(body.count))
        buffer.writeBytes(body)
        return buffer
    }

    @Test("the response frame decoder survives drip-fed, whole and coalesced input (ByteToMessageDecoderVerifier)")
    func frameDecoderDripFeed() throws {
        let cases: [(ByteBuffer, [ByteBuffer])] = [
            (frame([0, 0, 0, 1, 9]), [ByteBuffer(bytes: [0, 0, 0, 1, 9])]),
            (frame([]), [ByteBuffer()]),
            (frame(Array(repeating: 7, count: 300)), [ByteBuffer(bytes: Array(repeating: 7, count: 300))]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: cases) {
            ResponseFrameDecoder(maxFrameBytes: 1 << 20)
        }
    }

    @Test("a frame size beyond the limit is an error, not an allocation")
    func oversizedFrame() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ResponseFrameDecoder(maxFrameBytes: 100)))
        #expect(throws: (any Error).self) { try channel.writeInbound(frame(Array(repeating: 0, count: 101))) }
    }

    @Test("requests get increasing correlation ids and pipelined responses complete the right promises")
    func correlation() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestHandler(clientID: "c", address: "test:1"))
        let first = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let second = channel.eventLoop.makePromise(of: ByteBuffer.self)
        for promise in [first, second] {
            channel.writeAndFlush(OutboundRequest(apiKey: .metadata, apiVersion: 1, body: ByteBuffer(bytes: [0xAA]),
                                                  promise: promise, timeout: .seconds(30)), promise: nil)
        }
        var written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        _ = written.readInteger(as: Int32.self)
        let header = try RequestHeader.decode(from: &written)
        #expect(header.correlationID == 0 && header.apiKey == .metadata && header.clientID == "c")
        #expect(Array(written.readableBytesView) == [0xAA])
        var next = try #require(try channel.readOutbound(as: ByteBuffer.self))
        _ = next.readInteger(as: Int32.self)
        #expect(try RequestHeader.decode(from: &next).correlationID == 1)

        // Responses (header v0: the correlation id) for 1 then 0: each reaches its own request.
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 0x22]))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 0, 0x11]))
        #expect(Array(try first.futureResult.wait().readableBytesView) == [0x11])
        #expect(Array(try second.futureResult.wait().readableBytesView) == [0x22])
    }

    @Test("a request past its timeout fails with requestTimedOut and the connection closes, failing the rest")
    func timeouts() async throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestHandler(clientID: "c", address: "test:1"))
        let late = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let other = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.writeAndFlush(OutboundRequest(apiKey: .produce, apiVersion: 9, body: ByteBuffer(), promise: late,
                                              timeout: .milliseconds(1)), promise: nil)
        // Deadlines are on the real clock: a loaded machine can stall this test for many seconds,
        // so the request that must not expire gets an hour.
        channel.writeAndFlush(OutboundRequest(apiKey: .fetch, apiVersion: 12, body: ByteBuffer(), promise: other,
                                              timeout: .seconds(3600)), promise: nil)
        try await Task.sleep(for: .milliseconds(5))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(throws: ClientError.requestTimedOut(api: "Produce", address: "test:1", timeout: .milliseconds(1))) {
            try late.futureResult.wait()
        }
        #expect(throws: ClientError.connectionClosed(address: "test:1")) { try other.futureResult.wait() }
    }

    @Test("a request written after the connection closed and its pipeline was torn down still fails its response promise")
    func writeAfterTeardown() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestHandler(clientID: "c", address: "test:1"))
        try channel.close().wait()
        channel.embeddedEventLoop.run()  // handlers are removed on a later tick, as on a real loop
        let response = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        BrokerConnection.submit(OutboundRequest(apiKey: .produce, apiVersion: 9, body: ByteBuffer(), promise: response,
                                                timeout: .seconds(3600)),
                                on: channel, address: "test:1", written: written)
        channel.embeddedEventLoop.run()
        // The write never reached RequestHandler (NIO fails only the write promise) ...
        #expect(throws: ChannelError.ioOnClosedChannel) { try written.futureResult.wait() }
        // ... and the response promise fails too instead of waiting forever.
        #expect(throws: ClientError.connectionClosed(address: "test:1")) { try response.futureResult.wait() }
    }

    @Test("reconnect backoff doubles from the base to the cap, with ±20 % jitter")
    func backoff() {
        for (failures, expected) in [(1, 50.0), (2, 100.0), (3, 200.0), (6, 1000.0), (40, 1000.0)] {
            let delay = ClientCore.backoffDelay(failures: failures, base: .milliseconds(50), max: .seconds(1))
            let ms = Double(delay.nanoseconds) / 1e6
            #expect(ms >= expected * 0.8 - 0.001 && ms <= expected * 1.2 + 0.001, "failures \(failures): \(ms) ms")
        }
    }

    @Test("ApiVersions negotiation takes, per API, the highest version both sides support")
    func negotiation() {
        let negotiated = ClientApis.negotiate([
            .init(apiKey: ApiKey.produce.rawValue, minVersion: 0, maxVersion: 11),   // newer broker: capped at ours (9)
            .init(apiKey: ApiKey.fetch.rawValue, minVersion: 0, maxVersion: 6),      // older broker: its max
            .init(apiKey: ApiKey.metadata.rawValue, minVersion: 13, maxVersion: 13), // no overlap: left out
            .init(apiKey: 999, minVersion: 0, maxVersion: 1),                        // unknown to us: left out
        ])
        #expect(negotiated == [.produce: 3...9, .fetch: 4...6])
    }
}

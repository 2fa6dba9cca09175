import KafkaProtocol
import NIOCore
import Testing

/// Request header v1/v2 and response header v0/v1 (Kafka `RequestHeader.json`,
/// `ResponseHeader.json`; protocol guide "Headers").
struct HeaderTests {
    @Test func requestHeaderV1Bytes() throws {
        // Metadata v4 is not flexible: header v1 = key, version, correlation id, int16-length client id.
        let header = RequestHeader(apiKey: .metadata, apiVersion: 4, correlationID: 7, clientID: "kc")
        var out = ByteBuffer()
        header.encode(to: &out)
        #expect(Array(out.readableBytesView) == [0, 3, 0, 4, 0, 0, 0, 7, 0, 2, 0x6B, 0x63])
        var input = out
        #expect(try RequestHeader.decode(from: &input) == header)
        #expect(input.readableBytes == 0)
    }

    @Test func requestHeaderV2KeepsInt16ClientIDAndAddsTagBuffer() throws {
        // Metadata v12 is flexible: header v2, client id still int16-length, then an empty tag buffer.
        let header = RequestHeader(apiKey: .metadata, apiVersion: 12, correlationID: 1, clientID: "a")
        var out = ByteBuffer()
        header.encode(to: &out)
        #expect(Array(out.readableBytesView) == [0, 3, 0, 12, 0, 0, 0, 1, 0, 1, 0x61, 0])
        var input = out
        #expect(try RequestHeader.decode(from: &input) == header)
    }

    @Test func nullClientIDRoundTrips() throws {
        let header = RequestHeader(apiKey: .produce, apiVersion: 7, correlationID: -5, clientID: nil)
        var out = ByteBuffer()
        header.encode(to: &out)
        #expect(Array(out.readableBytesView) == [0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFB, 0xFF, 0xFF])
        var input = out
        #expect(try RequestHeader.decode(from: &input).clientID == nil)
    }

    @Test func unknownHeaderTagsAreKept() throws {
        var bytes = ByteBuffer(bytes: [0, 1, 0, 12, 0, 0, 0, 9, 0, 0, 1, 5, 2, 0xAA, 0xBB])
        let header = try RequestHeader.decode(from: &bytes)
        #expect(header.taggedFields.value(for: 5).map { Array($0.readableBytesView) } == [0xAA, 0xBB])
        var out = ByteBuffer()
        header.encode(to: &out)
        #expect(Array(out.readableBytesView) == [0, 1, 0, 12, 0, 0, 0, 9, 0, 0, 1, 5, 2, 0xAA, 0xBB])
    }

    @Test func truncatedHeadersThrow() {
        let full: [UInt8] = [0, 3, 0, 12, 0, 0, 0, 1, 0, 1, 0x61, 0]
        for cut in 0..<full.count {
            var input = ByteBuffer(bytes: full[0..<cut])
            #expect(throws: ProtocolError.self) { try RequestHeader.decode(from: &input) }
        }
    }

    @Test func responseHeaderVersions() throws {
        var v0 = ByteBuffer()
        ResponseHeader(correlationID: 258).encode(to: &v0, version: 0)
        #expect(Array(v0.readableBytesView) == [0, 0, 1, 2])
        var v1 = ByteBuffer()
        ResponseHeader(correlationID: 258).encode(to: &v1, version: 1)
        #expect(Array(v1.readableBytesView) == [0, 0, 1, 2, 0])
        #expect(try ResponseHeader.decode(from: &v1, version: 1).correlationID == 258)
    }

    @Test func headerVersionsFollowFlexibility() {
        #expect(ApiKey.produce.requestHeaderVersion(8) == 1)
        #expect(ApiKey.produce.requestHeaderVersion(9) == 2)
        #expect(ApiKey.fetch.responseHeaderVersion(11) == 0)
        #expect(ApiKey.fetch.responseHeaderVersion(12) == 1)
        // KIP-511: ApiVersions answers with header v0 even when its body is flexible.
        #expect(ApiKey.apiVersions.requestHeaderVersion(3) == 2)
        #expect(ApiKey.apiVersions.responseHeaderVersion(3) == 0)
        #expect(ApiKey.apiVersions.responseHeaderVersion(99) == 0)
    }
}

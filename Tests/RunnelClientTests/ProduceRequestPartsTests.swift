import KafkaProtocol
import NIOCore
import NIOEmbedded
import Testing
@testable import RunnelClient

@Suite("Produce requests written in parts")
struct ProduceRequestPartsTests {
    private func request(sizes: [Int?]) -> ProduceRequest {
        let partitions = sizes.enumerated().map { index, size in
            ProduceRequest.PartitionData(index: Int32(index),
                                         records: size.map { ByteBuffer(repeating: UInt8(index + 1), count: $0) })
        }
        return ProduceRequest(transactionalID: "tx", acks: -1, timeoutMs: 30_000,
                              topicData: [.init(name: "a", partitionData: Array(partitions.prefix(2))),
                                          .init(name: "b", partitionData: Array(partitions.dropFirst(2)))])
    }

    @Test("the parts, concatenated, are the encoded request in every version; large batches are not copied",
          arguments: [3, 8, 9] as [Int16])
    func partsConcatenateToEncoding(version: Int16) {
        let produce = request(sizes: [5000, 10, nil, 4096, 0])
        let parts = produce.encodedParts(version: version, minimumDetachedBytes: 4096)
        var joined = ByteBuffer()
        for var part in parts { joined.writeBuffer(&part) }
        #expect(joined == produce.encoded(apiKey: .produce, version: version))
        // The two batches of at least 4096 bytes are parts of their own, sharing the batch's storage.
        let detached = parts.filter { $0.readableBytes >= 4096 }
        #expect(detached.count == 2)
        for part in detached {
            let original = produce.topicData.flatMap(\.partitionData).compactMap(\.records).first { $0.readableBytes == part.readableBytes }!
            original.withUnsafeReadableBytes { source in
                part.withUnsafeReadableBytes { #expect($0.baseAddress == source.baseAddress) }
            }
        }
    }

    @Test("small batches stay in one buffer")
    func smallBatchesOnePart() {
        let produce = request(sizes: [10, 20])
        let parts = produce.encodedParts(version: 9, minimumDetachedBytes: 4096)
        #expect(parts == [produce.encoded(apiKey: .produce, version: 9)])
    }

    @Test("a request with detached parts goes out as one frame whose length covers every part")
    func handlerWritesEveryPart() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestHandler(clientID: "c", address: "test:1"))
        let produce = request(sizes: [5000, 10])
        var parts = produce.encodedParts(version: 9, minimumDetachedBytes: 4096)
        let body = parts.removeFirst()
        try channel.writeOutbound(OutboundRequest(apiKey: .produce, apiVersion: 9, body: body, moreBody: parts,
                                                  promise: nil, timeout: .seconds(30)))
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        let length = written.readInteger(endianness: .big, as: Int32.self)
        #expect(Int(length ?? -1) == written.readableBytes)
        _ = try RequestHeader.decode(from: &written)
        #expect(written == produce.encoded(apiKey: .produce, version: 9))
        _ = try channel.finish()
    }
}

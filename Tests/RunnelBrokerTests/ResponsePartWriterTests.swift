import Glibc
import KafkaProtocol
import LogStorage
import NIOCore
import NIOEmbedded
@testable import RunnelBroker
import SystemPackage
import Testing

/// How response parts become channel writes: buffers as they are, a record set left in its
/// segment file as a `FileRegion` over the same bytes (plaintext) or as its bytes read into a
/// buffer (TLS), with the descriptor handed back to its owner once the write is done.
struct ResponsePartWriterTests {
    /// A log with 30 batches of 1 KiB records and a file range over all of them.
    static func withFileRecords(_ body: (FileRecords, ByteBuffer) throws -> Void) throws {
        try withTemporaryDirectory { (dir: String) in
            let log = try Log(directory: FilePath(dir), config: LogConfig(), logger: quietLogger)
            defer { log.close() }
            for i in 0..<30 {
                var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
                builder.append(key: nil, value: ByteBuffer(repeating: UInt8(i), count: 1_024))
                let batch = builder.build()
                _ = try log.append(batch, header: try #require(RecordBatchHeader.peek(batch, at: batch.readerIndex)), leaderEpoch: 0)
            }
            let stored = try log.read(from: 0, maxBytes: 1 << 20, upperBound: 30)
            guard case .file(let file) = try log.readForSending(from: 0, maxBytes: 1 << 20, upperBound: 30, fileAtLeast: 1) else {
                Issue.record("expected a file range"); return
            }
            try body(file, stored)
        }
    }

    static func isOpen(_ descriptor: CInt) -> Bool { fcntl(descriptor, F_GETFD) != -1 }

    @Test func aFilePartIsAFileRegionOverItsRange() throws {
        try Self.withFileRecords { file, stored in
            let channel = EmbeddedChannel(handler: ResponsePartWriter(sendsFiles: true, sentFromFiles: nil))
            let head = ByteBuffer(string: "head")
            try channel.writeOutbound(KafkaWriter.Part.bytes(head))
            try channel.writeOutbound(KafkaWriter.Part.external(ExternalRecords(file)))
            #expect(try channel.readOutbound(as: IOData.self) == .byteBuffer(head))
            guard case .fileRegion(let region)? = try channel.readOutbound(as: IOData.self) else {
                Issue.record("expected a file region"); return
            }
            #expect(region.readerIndex == Int(file.position))
            #expect(region.endIndex == Int(file.position) + stored.readableBytes)
            // The write completed (flushed): the handle gave the descriptor back without closing it.
            #expect(!region.fileHandle.isOpen)
            #expect(Self.isOpen(file.descriptor))
            _ = try channel.finish(acceptAlreadyClosed: false)
        }
    }

    @Test func underTLSAFilePartIsSentAsItsBytes() throws {
        try Self.withFileRecords { file, stored in
            let channel = EmbeddedChannel(handler: ResponsePartWriter(sendsFiles: false, sentFromFiles: nil))
            try channel.writeOutbound(KafkaWriter.Part.external(ExternalRecords(file)))
            #expect(try channel.readOutbound(as: IOData.self) == .byteBuffer(stored))
            _ = try channel.finish(acceptAlreadyClosed: false)
        }
    }
}

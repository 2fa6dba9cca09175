import CoreMetrics
import KafkaProtocol
import LogStorage
import NIOCore

/// Turns the parts of a response (``ResponseBytes``) into the channel's writes: a buffer as it
/// is, a record set held by its segment file as a `FileRegion`, which NIO sends with
/// `sendfile(2)`: the bytes go from the page cache to the socket without being copied into the
/// process (Kafka's zero-copy `FileRecords.writeTo`).
///
/// The file part's descriptor belongs to its source (``LogStorage/FileRecords``, a duplicate
/// made when the fetch was read, so the segment may close or be deleted meanwhile). The
/// `NIOFileHandle` given to NIO borrows it and hands it back when the write completes or fails;
/// the source, kept alive until then, closes it.
///
/// Only plaintext listeners get file parts: TLS has to encrypt the bytes in the process. Should
/// one reach a TLS channel anyway, its bytes are read and written as a buffer.
final class ResponsePartWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = KafkaWriter.Part
    typealias OutboundOut = IOData

    /// Whether the channel can send file regions (no TLS below this handler).
    private let sendsFiles: Bool
    /// Counts the bytes sent from files (`runnel_fetch_sendfile_bytes_total`).
    private let sentFromFiles: CoreMetrics.Counter?

    init(sendsFiles: Bool, sentFromFiles: CoreMetrics.Counter?) {
        self.sendsFiles = sendsFiles
        self.sentFromFiles = sentFromFiles
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .bytes(let buffer):
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .external(let records):
            guard sendsFiles, let file = records.source as? any FileRegionSource else {
                do {
                    context.write(wrapOutboundOut(.byteBuffer(try records.source.readBytes())), promise: promise)
                } catch {
                    promise?.fail(error)
                    context.close(promise: nil)
                }
                return
            }
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: file.descriptor)
            let region = FileRegion(fileHandle: handle, readerIndex: Int(file.position), endIndex: Int(file.position) + file.byteCount)
            let written = context.eventLoop.makePromise(of: Void.self)
            let sentFromFiles = self.sentFromFiles
            written.futureResult.whenComplete { result in
                // The source owns the descriptor: take it back from the handle without closing it.
                _ = try? handle.takeDescriptorOwnership()
                withExtendedLifetime(file) {}
                switch result {
                case .success:
                    sentFromFiles?.increment(by: file.byteCount)
                    promise?.succeed()
                case .failure(let error): promise?.fail(error)
                }
            }
            context.write(wrapOutboundOut(.fileRegion(region)), promise: written)
        }
    }
}

/// An external record set that lives in a file range, which a channel can send with `sendfile(2)`.
protocol FileRegionSource: ExternalRecordSource {
    /// An open descriptor of the file, owned by the source and valid while it lives.
    var descriptor: CInt { get }
    /// Where the record set starts in the file, in bytes.
    var position: Int64 { get }
}

extension FileRecords: FileRegionSource {}

import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import SystemPackage

/// The cluster metadata log, `__cluster_metadata-0` under `log.dirs`: record batches whose records
/// are ``MetadataRecord`` values (null keys), one batch per change so a change applies whole.
///
/// With one node the log is written and fsynced locally; the Raft issue replicates this same log.
public final class MetadataLog {
    public static let directoryName = "__cluster_metadata-0"
    private let log: Log

    /// Opens (creating) the metadata log under `logDirectory`.
    public init(logDirectory: FilePath, logger: Logger) throws {
        log = try Log(directory: logDirectory.appending(Self.directoryName),
                      config: LogConfig(segmentBytes: 64 << 20, flushOnAppend: true), logger: logger)
    }

    /// Replays every record into a fresh image.
    /// - Throws: ``StorageError`` or ``ProtocolError`` if the log cannot be read.
    public func replay() throws -> MetadataImage {
        var image = MetadataImage()
        var offset: Int64 = log.logStartOffset
        while offset < log.logEndOffset {
            var bytes = try log.read(from: offset, maxBytes: 1 << 20, upperBound: log.logEndOffset)
            guard bytes.readableBytes > 0 else { break }
            while let (header, batch) = bytes.readRecordBatch() {
                for record in try RecordBatchHeader.uncompressedRecords(of: batch) {
                    if let value = record.value, let decoded = try MetadataRecord.decode(value) { image.apply(decoded) }
                }
                offset = header.nextOffset
            }
        }
        return image
    }

    /// Appends `records` as one batch and fsyncs it.
    /// - Throws: ``StorageError`` on I/O failure.
    public func append(_ records: [MetadataRecord], nowMs: Int64) throws {
        guard !records.isEmpty else { return }
        var builder = RecordBatchBuilder(baseTimestamp: nowMs)
        for record in records { builder.append(key: nil, value: record.encoded()) }
        let batch = builder.build()
        let header = RecordBatchHeader.peek(batch, at: batch.readerIndex)!
        try log.append(batch, header: header, leaderEpoch: 0)
    }

    public var logEndOffset: Int64 { log.logEndOffset }

    public func close() { log.close() }
}

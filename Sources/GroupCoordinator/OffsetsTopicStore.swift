import KafkaProtocol
import NIOCore

/// The coordinator's view of the `__consumer_offsets` partitions it owns: it appends records and
/// reads them back at load time. The broker implements it over its partition logs.
public protocol OffsetsTopicStore: Sendable {
    /// Appends `records` (key, value; nil value = tombstone) to `partition` as one uncompressed
    /// batch, returning once it is in the log.
    /// - Returns: the offset of the first record.
    /// - Throws: ``OffsetsTopicStoreError`` or a storage error when the append fails.
    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)], timestampMs: Int64) async throws -> Int64

    /// Reads the records of `partition` from `offset` onwards, at most about `maxBytes` of batches.
    /// - Returns: the records with their offsets, the offset to continue from, and the log end
    ///   offset; reading is done when `nextOffset >= logEndOffset`.
    func read(partition: Int32, from offset: Int64, maxBytes: Int) async throws
        -> (records: [(offset: Int64, key: ByteBuffer?, value: ByteBuffer?)], nextOffset: Int64, logEndOffset: Int64)
}

/// Why the offsets topic could not be used.
public struct OffsetsTopicStoreError: Error, Sendable, CustomStringConvertible {
    /// The error code to answer with (NOT_COORDINATOR when the partition is gone, else
    /// COORDINATOR_NOT_AVAILABLE, as Kafka maps append failures for group requests).
    public var errorCode: ErrorCode
    public var description: String

    public init(errorCode: ErrorCode, description: String) {
        self.errorCode = errorCode
        self.description = description
    }
}

/// A topic partition named in an offset commit or fetch.
public struct GroupTopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)-\(partition)" }
}

/// A group-level failure, carrying the error code to answer with.
public struct GroupCoordinatorError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public init(_ code: ErrorCode) { self.code = code }
}

import NIOCore

/// Record bytes an encoder does not hold: for the broker, a range of a segment file that the
/// connection sends with `sendfile(2)` (Kafka's zero-copy `FileRecords`, protocol guide
/// "Fetch API"). Only their length goes into the encoding; the bytes follow as a part of their
/// own (``KafkaWriter/Part/external(_:)``).
public protocol ExternalRecordSource: AnyObject, Sendable {
    /// How many bytes the record set holds.
    var byteCount: Int { get }
    /// The bytes themselves, read into memory: for tests and tools, and for a connection that
    /// cannot send them by reference (TLS).
    /// - Throws: the source's I/O error.
    func readBytes() throws -> ByteBuffer
}

/// A record set sent by reference, with the identity of its source for `==`.
public struct ExternalRecords: Sendable, Equatable {
    public let source: any ExternalRecordSource

    public init(_ source: any ExternalRecordSource) {
        self.source = source
    }

    /// How many bytes the record set holds.
    public var byteCount: Int { source.byteCount }

    /// Equal when both refer to the same source object.
    public static func == (lhs: ExternalRecords, rhs: ExternalRecords) -> Bool {
        lhs.source === rhs.source
    }
}
